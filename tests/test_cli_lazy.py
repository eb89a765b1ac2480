"""A command loads what it runs: ``screencodec recordings`` (an auditor's
command) and a module under ``screencodec.transport`` or ``capture`` leave the
session layer, the screen grabbers and the synthetic desktop unloaded. Each
such load cost every start of the command (0.54 s of CPU for
``recordings verify`` before, 0.34 s after, 10 runs each on this 2-core
machine)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = (
    "screencodec.transport.session.host",
    "screencodec.transport.session.viewer",
    "screencodec.transport.relay.server",
    "screencodec.capture.screen",
    "screencodec.capture.synthetic",
    "screencodec.cli.host",
    "screencodec.cli.view",
)

#: Libraries a command's start should not pay for unless it uses them:
#: spake2 (0.1 s of CPU to import) and cryptography until a viewer
#: connects, numpy where no picture is made.
LIBRARIES = ("numpy", "spake2", "cryptography")

_PROGRAM = """
import json, sys
{body}
print(json.dumps(sorted(m for m in sys.modules
                        if m.startswith("screencodec") or m in {libraries!r})))
"""


def _loaded(body: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROGRAM.format(body=body, libraries=LIBRARIES)],
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_recordings_list_loads_neither_the_session_layer_nor_a_screen(tmp_path: Path) -> None:
    loaded = _loaded(
        "from screencodec.cli import main\n"
        f"assert main(['recordings', 'list', {str(tmp_path)!r}]) == 0"
    )
    assert "screencodec.cli.recordings" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
    # Nor numpy: the recording package's player loads on first use (startup37).
    assert "numpy" not in loaded


@pytest.mark.parametrize("words", [
    ["host", "--help"],
    ["view", "--help"],
    ["host", "--listen", "not-a-port"],
    ["view", "--code", "123456789", "--bogus"],
], ids=["host-help", "view-help", "host-usage-error", "view-usage-error"])  # fmt: skip
def test_help_and_a_usage_error_load_only_the_arguments(words: list[str]) -> None:
    """The parser of ``host`` and ``view`` is their ``*_args`` module; the
    command's own module (the session layer, numpy, spake2) loads once the
    words are parsed (startup37: ``host --help`` took 0.5 s of CPU)."""
    loaded = _loaded(
        "from screencodec.cli import main\n"
        "try:\n"
        f"    main({words!r})\n"
        "except SystemExit as exc:\n"
        f"    assert exc.code == {0 if '--help' in words else 2}, exc.code"
    )
    assert f"screencodec.cli.{words[0]}_args" in loaded
    assert not loaded & {*HEAVY, *LIBRARIES}, sorted(loaded & {*HEAVY, *LIBRARIES})


def test_a_transport_module_loads_without_the_package_around_it() -> None:
    loaded = _loaded("import screencodec.transport.channel.display")
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_the_public_names_still_load_on_first_use() -> None:
    loaded = _loaded(
        "from screencodec.transport import Host, Viewer, safe_text\n"
        "from screencodec.capture import SyntheticDesktop, open_source\n"
        "import screencodec.transport as t, screencodec.capture as c\n"
        "assert set(t.__all__) <= set(dir(t)) and set(c.__all__) <= set(dir(c))\n"
        "assert all(getattr(t, n) is not None for n in t.__all__)\n"
        "assert all(getattr(c, n) is not None for n in c.__all__)"
    )
    assert {"screencodec.transport.session.host", "screencodec.capture.synthetic"} <= loaded


#: A host run until it prints its password, then left (os._exit: what it
#: loaded is read at that line, not after a stop): the line prints the JSON of
#: {report}; {start} starts the host with ``words``.
_HOST_TO_PASSWORD = """
import gc, json, os, sys
from screencodec.cli import main


class PasswordLine:
    def __init__(self, out):
        self.out = out

    def write(self, text):
        self.out.write(text)
        if "Password:" in text:
            self.out.write("\\n" + json.dumps({report}) + "\\n")
            self.out.flush()
            os._exit(0)
        return len(text)

    def flush(self):
        self.out.flush()


sys.stdout = PasswordLine(sys.stdout)
typed, kept_open = os.pipe()  # stdin that never ends: the host does not stop at its EOF
os.dup2(typed, 0)
words = ["host", "--listen", "0", "--bind", "127.0.0.1", "--source", "synthetic", "--once"]
{start}
"""
#: What it loaded of the package and of ``libraries``.
_LOADED = ("sorted(m for m in sys.modules"
           " if m.startswith('screencodec') or m in {libraries!r})")  # fmt: skip


def _host_to_password(report: str, start: str = "main(words)") -> str:
    return _HOST_TO_PASSWORD.replace("{report}", report).replace("{start}", start)


def test_a_host_prints_its_password_before_loading_the_handshake() -> None:
    """spake2 and cryptography load with the first viewer's handshake
    (startup37: 0.1 s of CPU before the password, paid by hosts nobody
    joined), the relay's server never; a viewer that cannot connect loads
    neither library."""
    program = _host_to_password(_LOADED.format(libraries=LIBRARIES))
    done = subprocess.run([sys.executable, "-c", program], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "screencodec.transport.session.host" in loaded
    assert not loaded & {"spake2", "cryptography"}, sorted(loaded & {"spake2", "cryptography"})
    # Nor the relay's server (its package's names load on first use).
    assert "screencodec.transport.relay.server" not in loaded

    viewer = _loaded(
        "from screencodec.cli import main\n"
        "assert main(['view', '127.0.0.1:1', '--code', '123456789',"
        " '--password', '7kq2m9xa']) == 1"
    )
    assert "screencodec.transport.session.viewer" in viewer
    assert not viewer & {"spake2", "cryptography"}, sorted(viewer & {"spake2", "cryptography"})


def test_a_host_without_a_display_neither_draws_a_desktop_nor_loads_xlib() -> None:
    """Before its password a synthetic host checks its --size and --scenario
    without drawing a desktop (startup39: it made one and closed it, 0.06 s
    of CPU a start; each viewer's is made when it joins), and with no X
    display it loads neither the XTest injector nor the local watchers."""
    # Printed at the password line: how many fonts a drawn desktop loaded
    # (0: none was drawn), or else the modules loaded.
    fonts = "__import__('screencodec.capture.synthetic._render').capture.synthetic._render.font"
    program = _host_to_password(
        f"{fonts}.cache_info().currsize or " + _LOADED.format(libraries=LIBRARIES))
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run([sys.executable, "-c", program], stdin=subprocess.DEVNULL, env=env,
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert isinstance(loaded, list), f"{loaded} fonts were loaded: a desktop was drawn"
    assert "screencodec.capture.synthetic" in loaded
    xlib = {"screencodec.transport.input.xtest", "screencodec.transport.input.xpresses"}
    assert not set(loaded) & xlib, sorted(set(loaded) & xlib)


def test_the_web_viewer_loads_without_the_recording_player() -> None:
    """``view --web`` imports the web package's viewer (web.run); the
    recording player beside it (web.playback: the recording package, the
    encoder, cryptography) loaded with the package (time50a: 50 ms of CPU a
    start). Its public names all load on first use all the same."""
    pytest.importorskip("aiohttp")
    loaded = _loaded("from screencodec.web import WebOptions, WebViewer")
    assert "screencodec.web.run" in loaded
    player = {"screencodec.web.playback", "screencodec.recording", "screencodec.encoder"}
    assert not loaded & player, sorted(loaded & player)
    assert "cryptography" not in loaded

    everything = _loaded(
        "import screencodec.web as w\n"
        "assert set(w.__all__) <= set(dir(w))\n"
        "assert all(getattr(w, n) is not None for n in w.__all__)"
    )
    assert "screencodec.web.playback" in everything


def test_a_synthetic_host_prints_its_password_before_loading_the_desktop() -> None:
    """A synthetic host checks its --size and --scenario with
    capture.desktop_check; the synthetic package (PIL, fonts, every
    scenario: 20 ms of CPU) loads when a viewer's desktop is made
    (time50a: it loaded at every start)."""
    program = _host_to_password(_LOADED.format(libraries=("PIL",)))
    done = subprocess.run([sys.executable, "-c", program], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "screencodec.cli.host" in loaded
    desktop = {"PIL", "screencodec.capture.synthetic"}
    assert not loaded & desktop, sorted(loaded & desktop)


def test_the_desktop_check_is_the_synthetic_desktops() -> None:
    """desktop_check's names and sizes are the package's, in its order."""
    from screencodec.capture import SCENARIOS, SyntheticDesktop, desktop_check, scenario_names
    from screencodec.capture.synthetic import MAX_SIZE, MIN_SIZE
    from screencodec.errors import FrameError

    assert desktop_check.SCENARIO_NAMES == tuple(SCENARIOS) == tuple(scenario_names())
    assert (desktop_check.MIN_SIZE, desktop_check.MAX_SIZE) == (MIN_SIZE, MAX_SIZE)
    for bad in [(63, 100), (100, 2161)]:
        with pytest.raises(FrameError, match=r"outside 64x64 \.\. 3840x2160"):
            SyntheticDesktop.check(*bad)
        with pytest.raises(FrameError, match=r"outside 64x64 \.\. 3840x2160"):
            desktop_check.check_desktop(*bad)
    with pytest.raises(FrameError, match="unknown scenario 'nope'; choose one of"):
        desktop_check.check_desktop(100, 100, scenario="nope")


@pytest.mark.parametrize("program", [True, False], ids=["program", "inside-another"])
def test_the_program_freezes_what_its_start_made(program: bool) -> None:
    """Run as the program (``python -m screencodec host``), the command's
    modules import with the garbage collector off, then are frozen
    (gc.freeze) and the collector is on again: 9% of the instructions of a
    host's start (time50a). Run inside another program (``main(argv)``),
    nothing is frozen: the caller's objects would never be collected."""
    started = ("sys.argv = ['screencodec', *words]\nmain()" if program else "main(words)")
    report = "[gc.isenabled(), gc.get_freeze_count(), 'screencodec.cli.host' in sys.modules]"
    done = subprocess.run([sys.executable, "-c", _host_to_password(report, started)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    enabled, frozen, host = json.loads(done.stdout.splitlines()[-1])
    assert enabled and host
    if program:
        assert frozen > 10_000, frozen
    else:
        assert frozen == 0, frozen
