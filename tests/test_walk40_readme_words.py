"""walk40: the README's words for the local user's input winning.

Found: README said the agent's input "is held back (1 s after the last of
it)" while the customer moves, clicks or types. A support engineer read
"held back" as delayed, and waited for the line they typed to appear in the
customer's xterm: it never did. The host drops it (InputGate, counted as
``dropped_local``: tests/transport/test_attack_local_presses.py), and the
page says "yours is ignored". The README says so now.
"""

from __future__ import annotations

from pathlib import Path

from screencodec.transport.session.input_gate import local_user_words

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_says_the_agents_input_is_dropped_while_the_user_uses_theirs() -> None:
    text = " ".join(README.read_text().split())
    assert "held back" not in text
    assert ("while they move, click or type, and for 1 s after the last of it, the agent's"
            " input is ignored (dropped, not sent later: keys typed meanwhile must be typed"
            " again) and the agent is told why.") in text  # fmt: skip
    assert "yours is ignored" in local_user_words(1.0)  # the page's words agree
