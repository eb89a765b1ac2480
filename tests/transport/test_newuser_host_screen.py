"""``screencodec host`` where its screen cannot be captured: with ``--source
screen`` it does not start (it asked its user, who said y, and the agent then
read 'closed by peer: closed locally'); with the default ``auto`` it says the
agents will see a synthetic demo desktop (its banner said YOUR SCREEN IS
BEING SHARED over a picture that was not this computer's); a ``--monitor``
the display does not have is refused (``auto`` shared the demo desktop).
Real host processes; a real Xvfb, and a display number nobody serves."""

from __future__ import annotations

import os
import subprocess

from warm_start import warm_popen

from .test_cli import CLI, ENV


def _host(*args: str, display: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in ENV.items() if k != "DISPLAY"}
    if display is not None:
        env["DISPLAY"] = display
    return warm_popen(
        [*CLI, "host", "--listen", "0", "--bind", "127.0.0.1", "--control", "none", *args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip


def _refused(*args: str, display: str | None) -> str:
    """What a host that must not start said on stderr (exit 2)."""
    host = _host(*args, display=display)
    try:
        out, err = host.communicate(timeout=30)
    finally:
        if host.poll() is None:
            host.kill()
            host.communicate()
    assert host.returncode == 2, (host.returncode, out, err)
    assert "Session code" not in out, out
    return err


def _unserved_display() -> str:
    """A display number no X server answers on."""
    number = next(n for n in range(400, 500) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    return f":{number}"


def test_source_screen_without_a_screen_does_not_start() -> None:
    display = _unserved_display()
    err = _refused("--source", "screen", display=display)
    assert err.startswith(f"screencodec host: no screen to share (cannot open the screen on"
                          f" display '{display}'"), err  # fmt: skip
    assert err.endswith("start it where $DISPLAY is this computer's screen, or with --source"
                        " synthetic for a demo desktop\n"), err  # fmt: skip


def test_auto_without_a_screen_says_the_agent_sees_a_demo_desktop() -> None:
    host = _host(display=None)
    try:
        assert host.stdout is not None
        first = host.stdout.readline()
    finally:
        host.kill()
        host.communicate()
    assert first == ("(no screen to capture here (no X display: $DISPLAY is not set): agents"
                     " will see a synthetic demo desktop, not this computer's screen;"
                     " --source screen refuses to start instead)\n"), first  # fmt: skip


def test_a_monitor_the_display_does_not_have_is_refused(xvfb_display: str) -> None:
    err = _refused("--monitor", "5", display=xvfb_display)
    assert err.startswith("screencodec host: --monitor 5: monitor 5 out of range"), err
