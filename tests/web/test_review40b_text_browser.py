"""review40b: ``view --web`` where ``webbrowser`` would choose a text
browser (w3m, lynx, links, elinks, www-browser: over SSH, no display, a
terminal).

Found (real w3m, ``view --web`` in tmux): w3m was started on the
terminal ``view`` writes to; it showed the page's "The viewer needs
JavaScript." (no text browser runs the page), ``view``'s own lines wrote
over it, and it put the terminal in raw mode: the agent's Ctrl-C no longer
reached ``view`` until w3m was quit. Expected: a text browser is not
started; ``view`` says no browser could be opened and to open the link in
a browser, and the next browser of a ``$BROWSER`` list is started instead.
Real ``view --web`` processes; the text browser a program of that name
that marks that it ran (w3m is not on every machine)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screencodec.web.run import NO_BROWSER

from .test_tail39b_browser_output import _sleeper
from .test_web39_view_web_cli import CLI


def _env(browser: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "TERM": "xterm", "BROWSER": browser, "PYTHONUNBUFFERED": "1"}


#: The text browsers of screencodec.web.browser.TEXT_BROWSERS that
#: ``webbrowser`` itself may choose (links2 is only ever named).
NAMES = ("w3m", "lynx", "links", "elinks", "www-browser")


def _started(tmp: Path, browsers: str) -> tuple[subprocess.Popen[str], Path, Path]:
    """A ``view --web`` run (no page opens: --duration ends it), its stdout
    and stderr written to files."""
    out, err = tmp / "out", tmp / "err"
    with out.open("w") as o, err.open("w") as e:
        proc = subprocess.Popen(
            [*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password", "abcd2345",
             "--web", "--duration", "4"],
            stdout=o, stderr=e, text=True, env=_env(browsers),
        )  # fmt: skip
    return proc, out, err


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both tests' runs, started side by side at the module's start: each
    mostly waits its --duration, 5 s one after the other (time53a)."""
    started: dict[str, Any] = {}
    try:
        tmp = tmp_path_factory.mktemp("all-text")
        progs = {name: _sleeper(tmp / name, name, tmp / f"{name}-ran") for name in NAMES}
        started["all-text"] = (tmp, _started(tmp, os.pathsep.join(map(str, progs.values()))))
        tmp = tmp_path_factory.mktemp("text-then-other")
        text = _sleeper(tmp / "text", "w3m", tmp / "text-ran")
        other = _sleeper(tmp / "bin", "my-browser", tmp / "ran")
        started["text-then-other"] = (tmp, _started(tmp, f"{text}{os.pathsep}{other}"))
        yield started
    finally:
        for _, (proc, _, _) in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _ended(run: tuple[Path, tuple[subprocess.Popen[str], Path, Path]]) -> tuple[Path, Any]:
    """The run's directory and its completed process, once it ended."""
    tmp, (proc, out, err) = run
    proc.wait(timeout=60)
    done = subprocess.CompletedProcess(proc.args, proc.returncode, out.read_text(), err.read_text())
    return tmp, done


def test_a_text_browser_is_not_started(runs: dict[str, Any]) -> None:
    """All five in one ``$BROWSER`` list, one ``view --web`` run (time43: five
    runs of 5 s each, one a name, asserted the same): each entry is tried in
    turn and passed over (the next browser after a text one is started: the
    test below), so each name is asserted not started, and none left."""
    tmp_path, out = _ended(runs["all-text"])
    ran = {name: tmp_path / f"{name}-ran" for name in NAMES}
    try:
        started = [name for name, mark in ran.items() if mark.exists()]
        assert not started, f"the text browsers {started} were started"
        assert NO_BROWSER in out.stdout + out.stderr, out
        assert out.returncode == 1  # no page opened and connected
    finally:
        for mark in ran.values():
            if mark.exists() and mark.read_text().strip():
                os.kill(int(mark.read_text()), 9)


def test_the_next_browser_after_a_text_one_is_started(runs: dict[str, Any]) -> None:
    tmp_path, out = _ended(runs["text-then-other"])
    pids = [p.read_text().strip() for p in (tmp_path / "ran", tmp_path / "text-ran")
            if p.exists()]  # fmt: skip
    try:
        assert not (tmp_path / "text-ran").exists(), "the text browser was started"
        assert (tmp_path / "ran").exists(), out
        assert NO_BROWSER not in out.stdout + out.stderr, out
    finally:
        for pid in pids:
            if pid:
                os.kill(int(pid), 9)
