"""``screencodec view`` in a real terminal (a pty), against a real
``screencodec host`` (on a pty too), over loopback: the agent sends a file
with ``/send PATH``, ``--max-pixels`` sets the largest picture it shows, and
a host with several screens has them listed, those over the limit marked
and refused by ``/monitor N`` before the host is asked.

Before: ``/send`` and ``/monitor`` were unknown commands, the terminal
listed no screens, and ``--max-pixels`` was no option.

The tests of ``/send`` and of a picture at ``--max-pixels`` each start their
own view of one host without ``--once`` (time50b: it was a host a test),
whose user's questions they read from their own mark on; each waits for
the host to tell its session's end before the next."""

from __future__ import annotations

import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from Xlib import display as xdisplay
from Xlib.ext import randr
from Xlib.protocol import rq

from screencodec.capture import list_monitors
from screencodec.capture.xvfb import private_xvfb
from screencodec.cli.main import main as cli_main
from warm_start import warm_popen, warm_run

from .test_attack_prompts import PtyHost, _credentials
from .test_cli import CLI, ENV


class PtyView(PtyHost):
    """``screencodec view ARGS`` on a pseudo-terminal, as an agent runs it;
    what it prints is collected as :class:`PtyHost` collects the host's
    (``wait_for``, ``type``, ``text``)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        master, slave = pty.openpty()
        self.proc = warm_popen([*CLI, "view", *args], stdin=slave, stdout=slave,
                               stderr=slave, env=env or ENV, close_fds=True)  # fmt: skip
        self._collect(master, slave)

    def leave(self) -> int:
        """Ctrl-C, as the agent leaves; the exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)


@pytest.fixture
def host_and_view() -> Iterator[tuple[list[PtyHost], list[PtyView]]]:
    """Lists the test puts its host and viewer in; both are killed after it."""
    hosts: list[PtyHost] = []
    views: list[PtyView] = []
    yield hosts, views
    for proc in [*views, *hosts]:
        proc.close()


class _Staying:
    """The module's host without ``--once``, saving files to :attr:`dl`."""

    def __init__(self, dl: Path) -> None:
        self.dl = dl
        self.host = PtyHost("--download-dir", str(dl), once=False)


@pytest.fixture(scope="module")
def staying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Staying]:
    shared = _Staying(tmp_path_factory.mktemp("dl"))
    try:
        yield shared
    finally:
        shared.host.close()


def _let_in(staying: _Staying, views: list[PtyView], view_args: tuple[str, ...] = (),
            env: dict[str, str] | None = None) -> tuple[PtyView, int]:  # fmt: skip
    """A viewer (``view_args``) the staying host lets in; the number of the
    question that asked its user."""
    host = staying.host
    mark = len(host.text)
    port, code, password = _credentials(host)
    view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password, *view_args,
                   env=env)  # fmt: skip
    views.append(view)
    asked = int(host.wait_for(r"Question (\d+): .*?\[y/N\] ", mark).group(1))
    host.type("y")
    view.wait_for(r"type /say and your message")
    return view, asked


def _left(staying: _Staying, view: PtyView, asked: int) -> None:
    """The agent leaves (Ctrl-C, exit status 0); the host tells that end."""
    assert view.leave() == 0
    host = staying.host
    start = host.wait_for(rf"Question {asked}: ").start()
    host.wait_for(r"ended: the agent left the session\n", start)


def _join(hosts: list[PtyHost], views: list[PtyView], *host_args: str,
          view_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
          ) -> tuple[PtyHost, PtyView]:  # fmt: skip
    """A host started with ``host_args``, a viewer it lets in (``view_args``)."""
    host = PtyHost(*host_args)
    hosts.append(host)
    port, code, password = _credentials(host)
    view = PtyView(f"127.0.0.1:{port}", "--code", code, "--password", password, *view_args,
                   env=env)  # fmt: skip
    views.append(view)
    host.say_yes(1)
    view.wait_for(r"type /say and your message")
    return host, view


# -- --max-pixels ----------------------------------------------------------------


def _no_number_of_pixels(value: str) -> str:
    return (f"screencodec view: error: argument --max-pixels: expected a number of pixels (a"
            f" whole number above 0, like 48000000), not {value!r}\n")


@pytest.mark.parametrize("value", ["0", "-5", "lots", "1e6", "\u00b2"])
def test_max_pixels_that_is_no_positive_number_is_an_error_in_words(
        value: str, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """The command's parser in this process (time50b: it was a process a
    value; the program itself says it for one of them: the test after)."""
    with pytest.raises(SystemExit) as ended:
        cli_main(["view", "127.0.0.1:9", "--code", "123 456 789", "--password", "7kq2m9xa",
                  f"--max-pixels={value}"])  # fmt: skip
    assert ended.value.code == 2
    err = capsys.readouterr().err
    assert err.endswith(_no_number_of_pixels(value)), err


def test_max_pixels_that_is_no_number_is_an_error_in_words_from_the_program() -> None:
    result = warm_run(
        [*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password", "7kq2m9xa",
         "--max-pixels=lots"],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.endswith(_no_number_of_pixels("lots")), result.stderr


def test_max_pixels_over_what_the_page_draws_is_refused_with_web() -> None:
    result = warm_run(
        [*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password", "7kq2m9xa",
         "--web", "--no-open", "--max-pixels", "48_000_001"],
        capture_output=True, text=True, env=ENV, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert result.stderr.startswith("error: --max-pixels 48000001: the web page draws at most"
                                    " 48000000 pixels"), result.stderr  # fmt: skip


def test_a_host_picture_over_max_pixels_ends_the_session_in_words(
        host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:
    """The host's 160x120 (19200 pixels) to a viewer of at most 19199: the
    session ends before the picture is shown, the agent reads why and what
    to type instead, and both programs end (the host had --once)."""
    host, view = _join(*host_and_view, view_args=("--max-pixels", "19_199"))
    view.wait_for(r"session ended: the host's screen is 160x120, over this viewer's limit of"
                  r" 19199 pixels \(to watch it, start screencodec view with --max-pixels"
                  r" 19200\)\n")  # fmt: skip
    assert view.proc.wait(timeout=30) == 1  # an error (cli.main.Exit): over its limit
    assert "[view]" not in view.text  # nothing was shown
    host.wait_for(r"over this viewer's limit of 19199 pixels")
    assert host.proc.wait(timeout=30) == 0


# -- the host's screens ------------------------------------------------------------


class _SetMonitor(rq.Request):
    """RandR 1.5 SetMonitor with its MonitorInfo packed beforehand
    (python-xlib's own set_monitor cannot pack its argument)."""

    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(43), rq.RequestLength(),
                         rq.Window("window"), rq.Binary("info"))  # fmt: skip


def _add_monitors(display: str, *boxes: tuple[int, int, int, int]) -> None:
    """Monitors (x, y, width, height) on ``display``, as a desktop defines them."""
    d = xdisplay.Display(display)
    try:
        root = d.screen().root
        for n, (x, y, w, h) in enumerate(boxes):
            info = randr.MonitorInfo.to_binary(
                name=d.intern_atom(f"SCREENCODEC-TEST-{n}"), primary=n == 0, automatic=False,
                x=x, y=y, width_in_pixels=w, height_in_pixels=h, width_in_millimeters=w // 4,
                height_in_millimeters=h // 4, crtcs=[])  # fmt: skip
            _SetMonitor(display=d.display, opcode=d.display.get_extension_major(randr.extname),
                        window=root, info=info)  # fmt: skip
        d.sync()
    finally:
        d.close()


def test_screens_over_the_limit_are_marked_and_not_switched_to(
        host_and_view: tuple[list[PtyHost], list[PtyView]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 1280x720 X display with a 640x720 and a 480x720 monitor (and the
    server's own 1280x720 one), shared from the first; the viewer's limit
    is 500000 pixels. Listed: each screen, the 1280x720 ones (all, and the
    server's) marked too large; ``/monitor`` of one of them is refused in
    words and the host is not asked (the session goes on, still showing
    640x720); ``/monitor 2`` switches, and the switch is told."""
    with private_xvfb(1280, 720) as display:
        _add_monitors(display, (0, 0, 640, 720), (640, 0, 480, 720))
        mons = list_monitors(display=display)
        sizes = {mon.index: (mon.width, mon.height) for mon in mons}
        assert sorted(sizes.values()) == [(480, 720), (640, 720), (1280, 720), (1280, 720)]
        assert sizes[1] == (640, 720) and sizes[2] == (480, 720)
        big = next(i for i, size in sizes.items() if size == (1280, 720) and i != 0)
        monkeypatch.setenv("DISPLAY", display)
        host, view = _join(*host_and_view, "--source", "screen", "--monitor", "1",
                           view_args=("--max-pixels", "500000"))  # fmt: skip
        listed = view.wait_for(r"the host has 3 screens; type /monitor N to watch screen N:\n"
                               r"((?:  .*\n)+)")  # fmt: skip
        rows = listed.group(1).splitlines()
        assert rows[:3] == ["  0: all screens, 1280x720 (too large for this viewer)",
                            "  1: 640x720 (primary, watching)",
                            "  2: 480x720"], rows  # fmt: skip
        assert f"  {big}: 1280x720 (too large for this viewer)" in rows
        view.wait_for(r"\(a screen too large for this viewer is over its limit of 500000"
                      r" pixels: --max-pixels sets it\)\n")  # fmt: skip
        view.wait_for(r"\[view\] 640x720 decoded")
        for typed, answer in [
            ("/monitor 0", r"\(not switched: all screens \(1280x720\) is too large for this"
                           r" viewer, over its limit of 500000 pixels; to watch it, start"
                           r" screencodec view with --max-pixels 921600\)\n"),
            (f"/monitor {big}", rf"\(not switched: screen {big} \(1280x720\) is too large"),
            ("/monitor 9", r"\(not switched: the host has no screen 9; its screens: 0, 1, 2, 3\)"),
            ("/monitor 1", r"\(you are watching screen 1 \(640x720\) already\)"),
            ("/monitor two", r"\(usage: /monitor N: N is the number of one of the host's"),
        ]:
            mark = len(view.text)
            view.type(typed)
            view.wait_for(answer, mark)
        # Still the same session, still the same screen: a chat line goes through.
        mark = len(view.text)
        view.type("/say after the refusals")
        host.wait_for(r"says: after the refusals")
        assert "session ended" not in view.text and "1280x720 decoded" not in view.text
        view.type("/monitor 2")
        asked = view.wait_for(r"asked the host for screen 2 \(480x720\)\n", mark)
        view.wait_for(r"now watching screen 2 \(480x720\)\n", asked.end())
        view.wait_for(r"\[view\] 480x720 decoded", mark)
        assert view.leave() == 0


# -- /send PATH (the module's staying host: its tests come last, and it ends with them) --


def _a_file(folder: Path, name: str = "report.bin") -> tuple[Path, bytes]:
    """A file of 600 kB (three chunks on the wire), bytes that differ."""
    data = os.urandom(600_000)
    path = folder / name
    path.write_bytes(data)
    return path, data


def test_a_file_that_cannot_be_read_is_not_offered_and_told() -> None:
    """A file whose mode forbids reading it, and one in a folder that may not
    be entered: each answered "permission denied" (run as an ordinary user:
    root reads anything, so as root the check runs as user nobody)."""
    as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    with tempfile.TemporaryDirectory() as folder:
        top = Path(folder)
        top.chmod(0o755)
        (top / "closed.txt").write_bytes(b"x")
        (top / "closed.txt").chmod(0o000)
        (top / "private").mkdir(mode=0o700)
        (top / "private" / "inside.txt").write_bytes(b"x")
        code = ("import sys; from screencodec.cli.say import file_to_send\n"
                "for arg in sys.argv[1:]: print(file_to_send(arg))")  # fmt: skip
        result = subprocess.run(
            [*(as_user if os.geteuid() == 0 else []), sys.executable, "-c", code,
             str(top / "closed.txt"), str(top / "private" / "inside.txt")],
            capture_output=True, text=True, env=ENV, timeout=60, check=True,
        )  # fmt: skip
    assert result.stdout.splitlines() == [
        f"(not sent: {top}/closed.txt: permission denied)",
        f"(not sent: {top}/private/inside.txt: permission denied)",
    ], result


def test_send_a_file_the_hosts_user_accepts_arrives_identical(
        tmp_path: Path, staying: _Staying,
        host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:  # fmt: skip
    """``/send ~/NAME`` (``~`` is $HOME): the host's user is asked, says yes;
    the agent reads that the host saved it, and the host's folder holds the
    same bytes. ``/help`` lists ``/send``; a path that is not there, a
    folder and a bare ``/send`` are each answered in words, nothing offered."""
    home, dl, host = tmp_path / "home", staying.dl, staying.host
    home.mkdir()
    dl.mkdir(exist_ok=True)
    _, data = _a_file(home)
    view, n = _let_in(staying, host_and_view[1], env={**ENV, "HOME": str(home)})
    view.type("/help")
    view.wait_for(r"/send PATH +offer the file PATH to the host's user")
    for typed, answer in [
        ("/send", r"\(usage: /send PATH\)"),
        ("/send ~/gone.txt", rf"\(not sent: {re.escape(str(home))}/gone\.txt: no such file\)"),
        (f"/send {tmp_path}", rf"\(not sent: {re.escape(str(tmp_path))} is a folder, and /send"
                              r" sends one file: "),
    ]:
        mark = len(view.text)
        view.type(typed)
        view.wait_for(answer, mark)
    mark = len(view.text)
    view.type("/send '~/report.bin'")  # quoted, as a path dropped into a terminal is
    view.wait_for(r"offering report\.bin \(600 kB\) to the host's user, who is asked"
                  r" whether to accept it\n", mark)  # fmt: skip
    asked = host.wait_for(rf"Question {n + 1}: .*?report\.bin.*?\[y/N\] ")
    host.type("y")
    view.wait_for(r"delivered report\.bin \(600 kB\): the host saved it\n", mark)
    host.wait_for(r"saved .*report\.bin \(600 kB\) from ", asked.end())
    assert (dl / "report.bin").read_bytes() == data
    assert f"Question {n + 2}" not in host.text  # the wrong paths offered nothing
    view.type("/say still here")  # the session goes on
    host.wait_for(r"says: still here", asked.end())
    _left(staying, view, n)


def test_send_a_file_the_hosts_user_declines_is_told(
        tmp_path: Path, staying: _Staying,
        host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:  # fmt: skip
    dl, host = staying.dl, staying.host
    dl.mkdir(exist_ok=True)
    before = sorted(dl.iterdir())  # what the test before saved there, if any
    path, _ = _a_file(tmp_path, "notes.txt")
    view, n = _let_in(staying, host_and_view[1])
    mark = len(view.text)
    view.type(f"/send {path}")
    host.wait_for(rf"Question {n + 1}: .*?notes\.txt.*?\[y/N\] ")
    host.type("n")
    # A host that gives reason codes: a no without one is its user's (words32).
    view.wait_for(r"the host did not accept notes\.txt: its user said no or did not answer in"
                  r" time\n", mark)  # fmt: skip
    assert "takes no files" not in view.text[mark:]
    assert sorted(dl.iterdir()) == before
    _left(staying, view, n)


def test_send_a_file_the_host_cannot_save_says_why(
        tmp_path: Path, staying: _Staying,
        host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:  # fmt: skip
    """The host's user says yes, but its download folder is gone: the agent
    reads that the host could not save it, and the host's reason. (The
    tests of /send before it make the folder again if it is gone.)"""
    dl, host = staying.dl, staying.host
    path, _ = _a_file(tmp_path)
    view, n = _let_in(staying, host_and_view[1])
    shutil.rmtree(dl, ignore_errors=True)
    mark = len(view.text)
    view.type(f"/send {path}")
    host.wait_for(rf"Question {n + 1}: .*?report\.bin.*?\[y/N\] ")
    host.type("y")
    view.wait_for(r"the host could not save report\.bin: No such file or directory\n",
                  mark)  # fmt: skip
    _left(staying, view, n)


def test_a_host_picture_at_max_pixels_is_shown(
        staying: _Staying, host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:
    view, n = _let_in(staying, host_and_view[1], view_args=("--max-pixels", "19200"))
    view.wait_for(r"\[view\] 160x120 decoded")
    _left(staying, view, n)
