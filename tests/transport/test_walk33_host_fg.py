"""walk33: ``screencodec host`` stopped with Ctrl-Z and taken up again with
``fg`` echoes what its user types once, as before the stop.

Walked by hand in tmux: after Ctrl-Z and ``fg`` every line typed showed
twice ("hello there", "hello there", then the host's answer to it): the
shell gives a job taken up again the terminal in its own modes (canonical,
echo), and the host's TypedLine (cli/terminal.py), which reads the keys
itself and echoes them, did not put its mode (no echo) back: the terminal
echoed each key and TypedLine too. The same TypedLine serves ``view``.

The real host on a pseudo-terminal; the test does what the shell does: it
stops the host (SIGTSTP, as Ctrl-Z), puts the terminal in canonical mode
with echo, and continues it (SIGCONT, as ``fg``)."""

from __future__ import annotations

import signal
import termios
import time

from .test_attack_prompts import PtyHost


def _lflag(fd: int) -> int:
    return int(termios.tcgetattr(fd)[3])


def test_walk33_the_host_echoes_a_line_once_after_ctrl_z_and_fg() -> None:
    host = PtyHost(own_group=True)
    try:
        host.wait_for(r"Type /help for the other commands\.\n")
        master = host._master
        assert not _lflag(master) & termios.ECHO  # the host echoes what is typed itself
        host.proc.send_signal(signal.SIGTSTP)  # Ctrl-Z
        deadline = time.monotonic() + 10
        while _stat(host.proc.pid) != "T":
            assert time.monotonic() < deadline, "the host did not stop"
            time.sleep(0.02)
        mode = termios.tcgetattr(master)  # the shell takes the terminal, in its modes
        mode[3] |= termios.ICANON | termios.ECHO
        termios.tcsetattr(master, termios.TCSANOW, mode)
        host.proc.send_signal(signal.SIGCONT)  # fg
        deadline = time.monotonic() + 10
        while _lflag(master) & termios.ECHO:
            assert time.monotonic() < deadline, "the terminal still echoes after fg"
            time.sleep(0.02)
        mark = len(host.text)
        host.type("hello there")
        told = host.wait_for(r"\(not sent, and no question is open", mark)
        assert host.text[mark:told.start()].count("hello there") == 1, host.text[mark:]
    finally:
        host.close()


def _stat(pid: int) -> str:
    """The process's state letter (T: stopped)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]
