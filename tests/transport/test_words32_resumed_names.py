"""words32: after a resume, ``screencodec host`` names the agent as they are
now: a line of the local user's confirmed on the resumed link is
"delivered to 'NAME' (THEIR ADDRESS NOW)", not the address of the link that
was lost (the agent reconnects from another port). The real CLI on
loopback, the agent's link cut by a proxy and taken up again."""

from __future__ import annotations

import re

from .test_chatack_cli import _refuse
from .test_view_cli_ux import read_until
from .test_words32_unconfirmed import agent_through_proxy, say


def test_a_line_confirmed_after_the_resume_names_the_agents_address_now() -> None:
    with agent_through_proxy() as (host, out, proxy, view):
        _refuse(proxy, True)  # the agent stays away until the test says
        proxy.cut()
        out.wait_for("(type /end to prevent it)")
        lost = re.search(r"the connection to 'support' \((\S+)\) was lost", out.text)
        assert lost, out.text
        say(host, "/say are you back?")
        out.wait_for("it goes once they are back): are you back?")
        _refuse(proxy, False)
        read_until(view, "host says: are you back?")
        out.wait_for("delivered to ")
        back = re.search(r"'support' \((\S+)\) is back", out.text)
        assert back and back.group(1) != lost.group(1), out.text
        (line,) = [x for x in out.text.splitlines() if x.startswith("delivered to ")]
        assert line == f"delivered to 'support' ({back.group(1)}): are you back?", line
