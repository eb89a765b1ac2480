"""walk46: a chat line longer than the wire takes (MAX_CHAT_BYTES) was kept
by the ChatLedger before its send failed ("text of 10003 bytes exceeds 4096
or holds NUL"), then sent again by the link that took the session up after
a lost link: the session ended with an internal error, a traceback on the
host's terminal. It is now refused (ValueError) before it is kept, on either
side, and the session taken up again goes on. A real Host and Viewer over
loopback sockets through a proxy that cuts the link."""

from __future__ import annotations

import pytest

from screencodec.transport.session.messages import MAX_CHAT_BYTES

from .helpers import run, until
from .test_chatack_session import _Seen
from .test_resume import _granted, _lose, _Setup

_LONG = "L" * 10000  # a pasted log line


def test_a_line_the_wire_cannot_take_is_refused_unkept_and_a_resume_goes_on() -> None:
    async def main() -> None:
        async with _Setup() as s:
            host_seen = _Seen(s.host)
            viewer, task = await s.join()
            ticket = await _granted(viewer)
            with pytest.raises(ValueError, match=f"at most {MAX_CHAT_BYTES} bytes"):
                await s.host.send_chat(_LONG)
            with pytest.raises(ValueError, match=f"at most {MAX_CHAT_BYTES} bytes"):
                await viewer.chat(_LONG)
            with pytest.raises(ValueError, match="no NUL"):
                await viewer.chat("a\x00b")
            assert viewer.chats.waiting == 0  # nothing kept for a resume
            await _lose(s, viewer, task)
            again, task2 = await s.join(resume=ticket)
            seen = _Seen(again.events_hub)
            await s.host.send_chat("still there?")
            await again.chat("yes")
            # Found: the resumed link sent the kept line again and the
            # session ended ("internal error: ValueError(...)").
            await until(lambda: seen.received == ["still there?"], 10, "the host's line")
            await until(lambda: host_seen.received == ["yes"], 10, "the agent's line")
            await again.bye()
            await task2

    run(main(), 30)
