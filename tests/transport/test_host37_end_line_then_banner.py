"""host37 (walk36's leftover): ``screencodec host`` says the end line, then
the sharing banner's end, then that the code no longer works, however its
user stops it: ``/end``, Ctrl-C, SIGTERM or SIGHUP.

Found (a real host on a pty, one agent, on main b8ccd6e): ``/end`` said
"you ended the session with 'Alice' (...); closing", the banner, "Stopped.
Nothing is shared; ..."; Ctrl-C, SIGTERM and SIGHUP said the banner first,
then "session with 'Alice' (...) ended: you ended it"."""

from __future__ import annotations

import signal

import pytest

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials
from .test_host_cli_commands import AGENT, ENDED, join, wait
from .test_stopdisk_host import in_order

STOPPED = r"\n##  Screen sharing stopped\.\n"
CODE_GONE = r"\nStopped\. Nothing is shared; the session code no longer works\.\n"


@pytest.mark.parametrize("how", ["/end", signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["end", "ctrl_c", "sigterm", "sighup"])  # fmt: skip
def test_the_end_line_comes_before_the_banner(how: str | signal.Signals) -> None:
    host = PtyHost()
    try:
        async def body() -> int:
            _viewer, task = await join(host, _credentials(host), "Alice")
            await wait(host, "YOUR SCREEN IS BEING SHARED WITH: 'Alice'")
            mark = len(host.text)
            if isinstance(how, str):
                host.type(how)
            else:
                host.proc.send_signal(how)
            # A SIGTERM or SIGHUP is not the user's own stop: the agent is
            # told the host program was stopped (HOST_STOPPED).
            stopped = how in (signal.SIGTERM, signal.SIGHUP)
            assert await task == ("host said bye: the host program was stopped" if stopped
                                  else ENDED)  # fmt: skip
            return mark

        mark = run(body(), timeout=60)
        assert host.proc.wait(30) == 0
        host.wait_for(CODE_GONE, mark)
        alice = AGENT.format(who="Alice")
        end_line = (f"you ended the session with {alice}; closing\n" if how == "/end"
                    else f"session with {alice} ended: you ended it\n")  # fmt: skip
        if how in (signal.SIGTERM, signal.SIGHUP):  # not the user's stop (words51)
            end_line = f"session with {alice} ended: the host program was stopped by {how.name}\n"
        in_order(host.text[mark:], end_line, STOPPED, CODE_GONE)
    finally:
        host.close()
