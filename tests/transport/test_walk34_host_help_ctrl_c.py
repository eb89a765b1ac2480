"""walk34: the host's ``/help`` did not list Ctrl-C, the one way out its
banner names ("Press Ctrl-C at any time to stop sharing"). Expected: its
last line says what Ctrl-C does at that moment: with nobody let in, the
host quits (its code stops working); while the screen is shared, it ends
the session with every agent, then quits. And it does so: the SIGINT a
terminal's Ctrl-C sends is sent after each ``/help``.

A real ``screencodec host`` on a pty; the agent a real Viewer in this
process over loopback."""

from __future__ import annotations

import signal

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import Where, join, session, wait

_QUITS = r"  Ctrl-C +quit: the session code and password stop working\n"
_ENDS = r"  Ctrl-C +stop sharing: end the session with every agent, then quit\n"
# smallend35: an agent whose program takes no files is not offered it
# (nofiles35), and the /send line says so.
# words39: "each is asked" read wrong with one agent: said of one agent.
_SENDS = (r"  /send PATH +offer the file PATH to each agent whose program takes files; the"
          r" agent is asked whether to accept it\n"
          # cancel36: /stop follows /send.
          r"  /stop \[NAME\] +stop the files being sent \(/send\) or received, or only those"
          r" named NAME; nothing of them is kept but what had all gone to a viewer\n")


def test_walk34_help_says_ctrl_c_quits_while_nothing_is_shared() -> None:
    host = PtyHost()
    try:
        host.wait_for(r"Type /help for the other commands\.\n")
        mark = len(host.text)
        host.type("/help")
        told = host.wait_for(_SENDS + r"  /help +list these commands\n" + _QUITS, mark)
        host.proc.send_signal(signal.SIGINT)
        host.wait_for(r"Stopped\. Nothing is shared; the session code no longer works\.",
                      told.end())  # fmt: skip
        assert host.proc.wait(30) == 0
    finally:
        host.close()


def test_walk34_help_says_ctrl_c_ends_the_session_while_shared() -> None:
    host = PtyHost()
    try:
        async def body(at: Where) -> None:
            _, task = await join(host, at, "Alice")
            await wait(host, r"Press Ctrl-C at any time to stop sharing")
            mark = len(host.text)
            host.type("/help")
            await wait(host, _SENDS + r"  /help +list these commands\n" + _ENDS, mark)
            assert "quit: the session code" not in host.text[mark:]
            host.proc.send_signal(signal.SIGINT)
            assert await task == "host said bye: the host's user ended the session"

        session(host, body)
        host.wait_for(r"Screen sharing stopped\.")
        assert host.proc.wait(30) == 0
    finally:
        host.close()
