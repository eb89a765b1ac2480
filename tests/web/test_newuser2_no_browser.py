"""``view --web`` and ``recordings play --web`` without ``--no-open`` where no
browser can be opened (no display, as over SSH): the terminal said "(opening
it in your browser)" and nothing more, and the agent waited for a page that
never came. Now it says that no browser could be opened and to open the
link by hand. ``BROWSER=false`` makes Python's ``webbrowser`` fail the same
way on any machine."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.recording.synth import synth

from screencodec.web.run import NO_BROWSER

CLI = [sys.executable, "-m", "screencodec"]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "BROWSER": "false", "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module", autouse=True)
def view_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """The ``view --web`` run, started at the module's start: its --duration
    (3 s, only waiting) passes while the ``recordings play`` test, first, runs
    (time53a: one after the other before)."""
    out = tmp_path_factory.mktemp("newuser2") / "out"
    with out.open("w") as written, out.with_suffix(".err").open("w") as errors:
        # No page opens, so the host (port 9) is never contacted; --duration ends it.
        proc = subprocess.Popen(
            [*CLI, "view", "127.0.0.1:9", "--code", "123 456 789", "--password", "abcd2345",
             "--web", "--duration", "3"],
            stdout=written, stderr=errors, text=True, env=_env(),
        )  # fmt: skip
    try:
        yield proc, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_play_web_says_no_browser_was_opened(tmp_path: Path) -> None:
    path, _ = synth(tmp_path, frames=3)
    proc = subprocess.Popen([*CLI, "recordings", "play", str(path), "--web"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=_env())  # fmt: skip
    stop = threading.Timer(30, proc.kill)  # it waits for a page for good: end the reading
    stop.start()
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while NO_BROWSER not in lines:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert NO_BROWSER in lines, lines
    finally:
        stop.cancel()
        proc.kill()
        proc.communicate()


def test_view_web_says_no_browser_was_opened(
    view_run: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, out = view_run
    returncode = proc.wait(timeout=60)
    said, err = out.read_text(), out.with_suffix(".err").read_text()
    assert "(opening it in your browser)" in said
    assert NO_BROWSER in said + err
    assert returncode == 1  # no page opened and connected
