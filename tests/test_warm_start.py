"""The warm starter (tests/warm_start.py, warm51) against a real exec: each
test runs the same ``python -m screencodec`` command both ways, as real
processes, and compares what a test can see of them: exit status, output
bytes and when they arrive, the environment, signals, process group, the
pty's end. The warm one is asserted to have been forked (``refusal`` empty):
a fallback to exec would make every comparison pass.

Where the program's own paths give no way to a case (an uncaught exception,
a print then a pause), a module planted in the command's folder does:
``python -m`` puts the folder first on sys.path, and ``host --bogus`` imports
``difflib`` (for "did you mean") after the start, in both processes.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import os
import pty
import re
import resource
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screencodec.errors import SessionClosedError
from transport.secure_fixtures import run
from transport.test_attack_prompts import PtyHost, _credentials, _viewer
from warm_start import WarmPopen, warm_refusal, warm_run

CLI = [sys.executable, "-m", "screencodec"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "error"}
BOGUS = ["host", "--bogus"]  # a usage error that imports difflib on its way


@pytest.fixture(autouse=True)
def _warm_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are of the warm starter: on, even in an exec-only run."""
    monkeypatch.delenv("SCREENCODEC_TESTS_EXEC", raising=False)


def start(warm: bool, args: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """``screencodec ARGS``, forked by the zygote (asserted) or exec'd."""
    if not warm:
        return subprocess.Popen([*CLI, *args], **kwargs)
    proc = WarmPopen([*CLI, *args], **kwargs)
    assert proc.refusal == "", proc.refusal
    return proc


def both(args: list[str], **kwargs: Any) -> Iterator[tuple[subprocess.Popen[Any], bool]]:
    for warm in (False, True):
        yield start(warm, args, **kwargs), warm


def piped(args: list[str], env: dict[str, str] | None = None,
          cwd: Path | None = None) -> list[tuple[int, bytes, bytes]]:  # fmt: skip
    """Status, stdout and stderr of ``args`` run by exec, then warm."""
    results = []
    for proc, _ in both(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        env=ENV if env is None else env, cwd=cwd):  # fmt: skip
        out, err = proc.communicate(timeout=60)
        results.append((proc.returncode, out, err))
    return results


def on_pty(warm: bool, args: list[str], env: dict[str, str], cwd: Path | None = None,
           ) -> tuple[int, list[tuple[float, bytes]]]:  # fmt: skip
    """Status and what ``args`` printed on a pty (each read with its time),
    up to the pty's end (EIO: no process holds its other side)."""
    master, slave = pty.openpty()
    proc = start(warm, args, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd)
    os.close(slave)
    reads: list[tuple[float, bytes]] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                break
            reads.append((time.monotonic(), chunk))
        else:
            raise AssertionError(f"no end of the pty: {reads}")
    finally:
        os.close(master)
    reads.append((time.monotonic(), b""))  # the end
    return proc.wait(timeout=30), reads


def plant(folder: Path, body: str) -> Path:
    """A ``difflib`` in ``folder`` that does ``body`` when imported."""
    (folder / "difflib.py").write_text(body, encoding="utf-8")
    return folder


def test_a_normal_end_and_a_usage_error_end_alike(tmp_path: Path) -> None:
    ended = piped(["recordings", "list", str(tmp_path)])
    assert ended[0] == ended[1] and ended[0][0] == 0, ended
    assert b"no recordings in" in ended[1][2]
    refused = piped(BOGUS)
    assert refused[0] == refused[1] and refused[0][0] == 2, refused
    assert b"unrecognized arguments: --bogus" in refused[1][2]


def test_an_uncaught_exception_is_status_1_and_the_same_traceback(tmp_path: Path) -> None:
    plant(tmp_path, "raise RuntimeError('planted')\n")
    results = piped(BOGUS, cwd=tmp_path)
    assert results[0] == results[1], results
    status, _, err = results[1]
    assert status == 1
    assert err.startswith(b"Traceback (most recent call last):\n  File \"<frozen runpy>\"")
    assert err.endswith(b"RuntimeError: planted\n")
    assert b"warm_start" not in err


def test_an_uncaught_ctrl_c_ends_by_sigint(tmp_path: Path) -> None:
    """A KeyboardInterrupt main does not turn into 130 (its own handler
    raises again): the traceback, then the end by SIGINT (Python 3.8+)."""
    plant(tmp_path, "import sys\nm = sys.modules['screencodec.cli.main']\n"
                    "def again(program=True):\n    raise KeyboardInterrupt\n"
                    "m.interrupted = again\nraise KeyboardInterrupt\n")  # fmt: skip
    results = piped(BOGUS, cwd=tmp_path)
    assert results[0] == results[1], results
    assert results[1][0] == -signal.SIGINT
    assert results[1][2].endswith(b"KeyboardInterrupt\n")


def test_system_exit_with_words_is_status_1_and_the_words(tmp_path: Path) -> None:
    plant(tmp_path, "raise SystemExit('planted end')\n")
    results = piped(BOGUS, cwd=tmp_path)
    assert results[0] == results[1] == (1, b"", b"planted end\n"), results


# NumPy first, as a command that runs imports it: its import adds warnings
# filters, and the zygote has them already (a difference of what is imported,
# not of the start).
def test_threads_are_joined_then_atexit_runs(tmp_path: Path) -> None:
    plant(tmp_path, "import atexit, threading, time\n"
                    "atexit.register(print, 'atexit ran')\n"
                    "threading.Thread(target=lambda: (time.sleep(1), print('thread done')))"
                    ".start()\nraise SystemExit(3)\n")  # fmt: skip
    results = piped(BOGUS, cwd=tmp_path)
    assert results[0] == results[1] == (3, b"thread done\natexit ran\n", b""), results


PROBE = """\
import numpy
import gc, os, signal, sys, threading, warnings
facts = {
    "argv": sys.argv, "orig_argv": sys.orig_argv, "path0": sys.path[0], "cwd": os.getcwd(),
    "probe": os.environ.get("WARM_PROBE"), "unset": "WARM_UNSET" in os.environ,
    "umask": os.umask(0o022), "group": os.getpgid(0) == os.getpid(),
    "parent_group": os.getpgid(os.getppid()) == os.getpgid(0),
    "threads": threading.active_count(), "gc": gc.isenabled(),
    "main": sorted(k for k in vars(sys.modules["__main__"]) if k != "__builtins__"),
    "signals": {int(s): str(signal.getsignal(s)) for s in signal.valid_signals()
                if s not in (signal.SIGKILL, signal.SIGSTOP)},
    "mask": sorted(signal.pthread_sigmask(signal.SIG_BLOCK, ())),
    "warnoptions": sys.warnoptions,
    "filters": [(f[0], str(f[1]), f[2].__name__) for f in warnings.filters],
    "fds": sorted(os.listdir("/proc/self/fd")),
}
for name in ("stdin", "stdout", "stderr"):
    s = getattr(sys, name)
    facts[name] = (s.encoding, s.errors, s.line_buffering, s.write_through, s.mode, s.name,
                   type(s.buffer).__name__, s is getattr(sys, "__" + name + "__"))
print(repr(facts))
raise SystemExit(0)
"""


def test_what_the_program_finds_is_the_same(tmp_path: Path) -> None:
    """argv, env, cwd, umask, signals, stdio, warnings, fds: as exec'd."""
    plant(tmp_path, PROBE)
    env = {**ENV, "WARM_PROBE": "here é", "PYTHONWARNINGS": "error,ignore::ResourceWarning"}
    os.environ["WARM_UNSET"] = "1"  # in the test process's env, not the child's
    try:
        results = piped(BOGUS, env=env, cwd=tmp_path)
    finally:
        del os.environ["WARM_UNSET"]
    assert results[0] == results[1], results
    facts = ast.literal_eval(results[1][1].decode())
    assert facts["probe"] == "here é" and facts["cwd"] == str(tmp_path) and not facts["unset"]
    assert facts["argv"][1:] == ["host", "--bogus"] and facts["fds"] == ["0", "1", "2", "3"]
    assert facts["stdout"][3] and not facts["stdout"][2]  # unbuffered, a pipe
    assert facts["signals"][signal.SIGINT] == str(signal.default_int_handler)
    assert facts["warnoptions"] == ["error", "ignore::ResourceWarning"]


def test_a_warning_is_an_error_under_pythonwarnings_error(tmp_path: Path) -> None:
    plant(tmp_path, "import warnings\nwarnings.warn('planted warning')\nprint('went on')\n"
                    "raise SystemExit(2)\n")  # fmt: skip
    raised = piped(BOGUS, cwd=tmp_path)
    assert raised[0] == raised[1], raised
    assert raised[1][0] == 1 and raised[1][2].endswith(b"UserWarning: planted warning\n")
    assert b"went on" not in raised[1][1]
    said = piped(BOGUS, env={**ENV, "PYTHONWARNINGS": ""}, cwd=tmp_path)
    assert said[0] == said[1], said
    assert said[1][0] == 2 and b"UserWarning: planted warning" in said[1][2]
    assert said[1][1] == b"went on\n"


SLOW_LINE = "import time\nprint('before the pause')\ntime.sleep(1.5)\nraise SystemExit(2)\n"


@pytest.mark.parametrize(("where", "unbuffered", "early"), [
    ("pty", "", True),  # line buffered on a terminal
    ("pipe", "1", True),  # PYTHONUNBUFFERED: written through
    ("pipe", "", False),  # a pipe's block buffer: at the end
])  # fmt: skip
def test_output_and_its_buffering_are_the_same(
        tmp_path: Path, where: str, unbuffered: str, early: bool) -> None:  # fmt: skip
    """The same bytes; a line printed before a pause arrives before the end
    exactly when it does for an exec'd Python."""
    plant(tmp_path, SLOW_LINE)
    env = {**ENV, "PYTHONUNBUFFERED": unbuffered}
    seen = []
    for warm in (False, True):
        if where == "pty":
            status, reads = on_pty(warm, BOGUS, env, tmp_path)
        else:
            proc = start(warm, BOGUS, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env=env, cwd=tmp_path)  # fmt: skip
            assert proc.stdout is not None
            with proc.stdout:
                reads = [(time.monotonic(), chunk) for chunk in iter(proc.stdout.read1, b"")]
            reads.append((time.monotonic(), b""))  # the end
            status = proc.wait(timeout=30)
        data = b"".join(chunk for _, chunk in reads)
        first = next(t for t, chunk in reads if b"before" in chunk)
        seen.append((status, data, reads[-1][0] - first > 1.0))
    assert seen[0] == seen[1], seen
    assert seen[1][0] == 2 and seen[1][2] == early
    assert (b"\r\n" in seen[1][1]) == (where == "pty")


async def _ctrl_c_when_asked(host: PtyHost) -> int:
    """A viewer let in as far as the host's first question, then the host's
    Ctrl-C; the viewer reads to the end and closes (in one loop: a channel
    left to another loop's end was a ResourceWarning in a later test). Where
    the host's output was at the Ctrl-C."""
    port, code, password = _credentials(host)
    channel = await _viewer(port, code, password, "agent")
    try:
        await asyncio.to_thread(host.wait_for, r"Question 1: .*?\[y/N\] ")
        mark = len(host.text)
        host.proc.send_signal(signal.SIGINT)
        with contextlib.suppress(SessionClosedError):
            while True:
                await channel.recv()
    finally:
        await channel.close()
    return mark


def _pty_host(warm: bool, **kwargs: Any) -> PtyHost:
    host = PtyHost(**kwargs) if warm else _ExecPtyHost(**kwargs)
    assert getattr(host.proc, "refusal", "") == ""
    assert isinstance(host.proc, WarmPopen) == warm
    return host


class _ExecPtyHost(PtyHost):
    """PtyHost by a real exec: the switch on for its start only."""

    def __init__(self, *args: str, **kwargs: Any) -> None:
        os.environ["SCREENCODEC_TESTS_EXEC"] = "1"
        try:
            super().__init__(*args, **kwargs)
        finally:
            del os.environ["SCREENCODEC_TESTS_EXEC"]


def _words(text: str) -> str:
    """Output less what differs from run to run (ports, codes, passwords)."""
    return re.sub(r"\d+", "N", re.sub(r"Password:\s+\S+", "Password: P", text))


def test_ctrl_c_at_the_hosts_question_ends_it_alike() -> None:
    ends = []
    for warm in (False, True):
        with _pty_host(warm) as host:
            mark = run(_ctrl_c_when_asked(host), timeout=60)
            status = host.proc.wait(timeout=30)
            host.wait_for("\0EOF", timeout=10)
            ends.append((status, _words(host.text[mark:])))
    assert ends[0] == ends[1], ends
    assert ends[1][0] == 0 and "Stopped." in ends[1][1], ends


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_sigterm_and_kill_end_it_alike(sig: int) -> None:
    ends = []
    for warm in (False, True):
        with _pty_host(warm) as host:
            _credentials(host)
            mark = len(host.text)
            host.proc.send_signal(sig)
            status = host.proc.wait(timeout=30)
            host.wait_for("\0EOF", timeout=10)  # the pty's end: nothing holds it
            ends.append((status, _words(host.text[mark:])))
    assert ends[0] == ends[1], ends
    assert ends[1][0] == (0 if sig == signal.SIGTERM else -signal.SIGKILL)


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_own_group_and_ctrl_z_stops_it() -> None:
    for warm in (False, True):
        with _pty_host(warm, own_group=True) as host:
            _credentials(host)
            pid = host.proc.pid
            assert os.getpgid(pid) == pid
            # Its parent in another group of the same session: not orphaned.
            parent = int(_stat_field(pid, 1))
            assert os.getpgid(parent) != pid and os.getsid(parent) == os.getsid(pid)
            host.proc.send_signal(signal.SIGTSTP)
            deadline = time.monotonic() + 10
            while _state(pid) != "T":
                assert time.monotonic() < deadline, (warm, _state(pid))
                time.sleep(0.05)
            host.proc.send_signal(signal.SIGCONT)
            assert host.proc.poll() is None


def _stat_field(pid: int, n: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[n]


def test_no_zombie_and_the_zygote_holds_nothing(tmp_path: Path) -> None:
    proc = start(True, ["recordings", "list", str(tmp_path)], stdout=subprocess.DEVNULL,
                 stderr=subprocess.DEVNULL)  # fmt: skip
    zygote = int(_stat_field(proc.pid, 1))
    assert proc.wait(timeout=30) == 0
    assert not Path(f"/proc/{proc.pid}").exists()  # reaped: no zombie
    assert Path(f"/proc/{zygote}/task/{zygote}/children").read_text().split() == []
    # Only its socket, its wakeup pipe and /dev/null: no child's fd kept.
    fds = {os.readlink(f"/proc/{zygote}/fd/{fd}") for fd in os.listdir(f"/proc/{zygote}/fd")}
    assert all(f.startswith(("socket:", "pipe:", "/dev/null")) for f in fds), fds


def test_a_request_not_plainly_the_same_is_an_exec(tmp_path: Path) -> None:
    """A PYTHONPATH of its own (here a sitecustomize that says so), a limit
    read at import set otherwise, another command: each a real exec."""
    (tmp_path / "sitecustomize.py").write_text("print('customized')\n", encoding="utf-8")
    path = os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])
    env = {**ENV, "PYTHONPATH": path}
    proc = WarmPopen([*CLI, *BOGUS], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    out, _ = proc.communicate(timeout=60)
    assert "PYTHONPATH differs" in proc.refusal
    assert out == b"customized\n" and proc.returncode == 2
    assert "SCREENCODEC_TEST_IDLE" in warm_refusal([*CLI, "host"],
                                                   {**ENV, "SCREENCODEC_TEST_IDLE": "3"})
    assert "not imported" in warm_refusal([*CLI, "codecs"], ENV)
    assert warm_refusal([*CLI, "host"], ENV) == ""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 30, hard))
    try:
        assert warm_refusal([*CLI, "host"], ENV) == "resource limits differ"
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))


def test_warm_run_is_subprocess_run(tmp_path: Path) -> None:
    argv = [*CLI, "recordings", "list", str(tmp_path / "none")]
    assert warm_refusal(argv, ENV) == ""
    done = [run_(argv, capture_output=True, text=True, env=ENV, timeout=60, check=False)
            for run_ in (subprocess.run, warm_run)]  # fmt: skip
    assert done[0].returncode == done[1].returncode != 0
    assert (done[0].stdout, done[0].stderr) == (done[1].stdout, done[1].stderr)
    assert done[1].stderr and isinstance(done[1].stderr, str)
    with pytest.raises(subprocess.CalledProcessError):
        warm_run(argv, capture_output=True, env=ENV, timeout=60, check=True)


def test_a_warning_while_the_zygote_imports_makes_every_start_an_exec(tmp_path: Path) -> None:
    """Under PYTHONWARNINGS=error an exec'd start would fail on it: the zygote
    says so (its profile's problem) rather than start warm past it. Here a
    command whose module warns, in a zygote's preparation run on its own."""
    (tmp_path / "warns_at_import.py").write_text(
        "import warnings\nwarnings.warn('at import', DeprecationWarning)\n", encoding="utf-8")
    script = (
        "import sys, warnings\n"
        f"sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(tmp_path)!r}]\n"
        "import warm_start\n"
        "from screencodec.cli import sessions\n"
        "sessions.COMMANDS['planted'] = sessions.Command('warns_at_import', '', '')\n"
        "profile, base, added = warm_start._prepare()\n"
        "print(profile['problem'])\n"
        "print(any(f[0] == 'always' and f[2] is Warning for f in warnings.filters))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout == "a warning while importing: DeprecationWarning: at import\nFalse\n"
