"""The host's chat arriving while the agent has typed half a line in the
terminal viewer. Before, the viewer printed over the terminal's echo: the
row read "/say hélhost says: from the host" and "lo there" went on alone.
Expected, as on the host (cli/terminal.TypedLine, a537fd4): the line sent
is exactly what was typed, the host's line is shown whole, and the typed
text follows it on the next row. Real host and viewer, each on a
pseudo-terminal; the screen is worked out from the bytes the viewer wrote."""

from __future__ import annotations

import os
import time

from .test_attack_prompts import PtyHost
from .test_host_cli_typed_line import screen
from .test_view_cli_send_screens import PtyView, _join, host_and_view  # noqa: F401


def _shown(view: PtyView, row: str, timeout: float = 30.0) -> None:
    """Until the viewer's terminal's last row reads ``row``."""
    deadline = time.monotonic() + timeout
    while screen(view.raw.decode("utf-8", "replace"))[-1] != row:
        assert time.monotonic() < deadline, screen(view.text)[-3:]
        time.sleep(0.02)


def test_the_hosts_chat_arriving_mid_typing_leaves_the_agents_line_whole(
        host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:  # noqa: F811
    host, view = _join(*host_and_view)
    os.write(view._master, "/say hé!".encode() + b"\x7fl")  # a mistake taken back
    _shown(view, "/say hél")
    mark = len(view.text)
    host.type("/say from the host")
    view.wait_for("host says: from the host", mark)
    os.write(view._master, b"lo there\n")
    host.wait_for("says: h.llo there")
    view.wait_for("you said: h.llo there")
    assert view.leave() == 0
    rows = screen(view.raw.decode("utf-8", "replace"))
    (told,) = [n for n, r in enumerate(rows) if r == "host says: from the host"]
    assert rows[told + 1] == "/say héllo there", rows[told - 2:told + 3]
    assert rows[told + 2] == "you said: héllo there", rows[told - 2:told + 3]
