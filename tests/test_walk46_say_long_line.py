"""walk46 (a host in tmux, an agent's ``view --web``): the host's user
pasted a 10 kB line after /say. The host said "(/say failed: text of 10003
bytes exceeds 4096 or holds NUL)", yet had kept the line for an agent who
might come back; when the agent's link dropped and came back, the host sent
it again, and the session ended with a traceback on the user's terminal and
"session with 'Sam' ... ended: internal error: ValueError(...)". A long line
now goes as several messages, each one that every side shows whole (1000
characters), in order; a lost link taken up again goes on.

A real ``screencodec host`` on a pty, a real ``screencodec view`` through a
forwarder that drops the link: one of each for the two tests (time49c)."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterator

import pytest

from test_walk3_view_cli import _Alice
from transport.test_view_cli_ux import read_until

_LONG = "".join(f"{n:05d}" for n in range(2000)) + "END"  # 10003 characters, each place its own


@pytest.fixture(scope="module")
def alice() -> Iterator[_Alice]:
    """A --once host and 'Alice' watching it through a way the tests cut
    (test_walk3_view_cli's), shared by this module's two tests (time49c):
    each reads on from where the one before left, in the session."""
    with contextlib.closing(_Alice()) as session:
        yield session


def test_walk46_a_long_say_goes_whole_in_parts_and_a_resume_goes_on(alice: _Alice) -> None:
    view, _ = alice.in_session()
    host = alice.host
    host.type(f"/say {_LONG}")
    seen = read_until(view, re.compile(r"host says: \S*END\n"))
    said = "".join(re.findall(r"^host says: (\S+)$", seen, re.M))
    # Found: "(/say failed: text of 10003 bytes exceeds 4096 or holds NUL)", nothing sent.
    assert said == _LONG
    assert "failed" not in host.text
    alice.on_loop(alice.way.cut)
    seen = read_until(view, "back in the session")
    host.type("/say still there?")
    seen += read_until(view, "host says: still there?")
    # Found: the resumed link sent the kept line again, and the session
    # ended: "internal error: ValueError(...)", a traceback on the terminal.
    assert "session ended" not in seen
    assert "Traceback" not in host.text and "internal error" not in host.text


def test_walk46_a_long_say_of_the_agents_terminal_does_not_end_the_session_at_a_resume(
    alice: _Alice,
) -> None:
    """The agent's terminal (``view``'s /say): before walk46 the line was
    kept by the Viewer though the wire could not take it, sent again by the
    link that took the session up, and both ended (the view's output
    stopped; the host said "internal error: ValueError"). ChatLedger now
    refuses such a line before it keeps it, for every program on
    ``Viewer.chat`` or ``Host.send_chat``."""
    view, mark = alice.in_session()
    host = alice.host
    alice.type(f"/say {_LONG}")
    # Each part shown whole on the host's terminal ("agent 'Alice' (...)
    # says: PART"), in order. (As said by the agent: the host's own lines of
    # the test before, "delivered to 'Alice' ...: PART", may still come.)
    said = [f" says: {_LONG[i : i + 1000]}\n" for i in range(0, len(_LONG), 1000)]
    for _ in range(100):
        if said[-1] in host.text[mark:]:
            break
        time.sleep(0.1)
    where = [host.text.find(part, mark) for part in said]
    assert -1 not in where and where == sorted(where), where
    alice.on_loop(alice.way.cut)
    seen = read_until(view, "back in the session", 15.0)
    host.type("/say still there?")
    seen += read_until(view, "host says: still there?", 15.0)
    assert "session ended" not in seen
    assert "Traceback" not in host.text and "internal error" not in host.text
