"""Letting go of what a silent agent holds down (held43).

An agent's link that goes silent without a reset (a Wi-Fi gone) ends only
after ``Timeouts.cold`` (15 s); until then a chord cut half-way (Ctrl+Alt
down, the T never comes) stayed down on the host, and a key its user
pressed meanwhile combined with it. A viewer that keeps its link warm
(``SecureChannel.keeps_warm``) sends a record at least every
``Timeouts.warm`` seconds (3), so :data:`HELD_SILENCE` seconds with no byte
of it is its link's silence, not a pause in its typing: the host lets go
of every key and button the agent holds, and the session goes on. The
link may come back; the agent's next press is a fresh one, its late
releases change nothing.

input44: only what this agent holds (``release_input_of``): another agent
with control keeps its held Shift; before, ``release_all`` let go of
theirs too. And it is said, once per release: the host's user and an
embedder get an :class:`~.events.InputLetGo`, the agent a ``Notice``
(``HELD_RELEASED``) that it reads once its link comes back.

Only a link that keeps warm is judged: an earlier viewer sends nothing for
15 s on a still screen. Nor is a link the host is not reading
(``waiting_since`` None: a disk holding a file's chunks holds its receive
loop, and TCP the viewer): that silence is the host's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, Protocol

from screencodec.errors import ScreencodecError
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.session import messages as m
from screencodec.transport.session.events import Event, InputLetGo, held_words
from screencodec.transport.session.input_gate import InputGate
from screencodec.transport.session.permissions import CONTROL, Permission

__all__ = ["HELD_SILENCE", "Watched", "agent_words", "is_agent_words", "let_go_when_silent",
           "untold"]  # fmt: skip

_WARM = Timeouts().warm or 3.0

#: Seconds without a byte of a warm agent after which what it holds is let
#: go of: the keep-warm period and one second. The longest wait for a warm
#: viewer's byte measured at a host is 3.2 s beside 4 CPU hogs (load 12;
#: docs/transport.md "A warm link gone cold").
HELD_SILENCE = _WARM + 1.0

#: How often an agent that holds nothing, or is not judged, is looked at.
_LOOK = 0.5
#: A sleep this much longer than asked means the host's loop did not run.
_OVERSLEPT = 1.0


class _Releases(Protocol):
    def release_input_of(self, link: object) -> tuple[int, int]: ...
    def emit(self, event: Event) -> None: ...


class Watched(Protocol):
    """What the watcher reads of a viewer's link (session.link.ViewerLink,
    which starts it: named here by shape, so this module does not import
    the link that imports it)."""

    @property
    def channel(self) -> object: ...
    @property
    def gate(self) -> InputGate: ...
    @property
    def level(self) -> Permission: ...
    @property
    def host(self) -> _Releases: ...
    @property
    def peer(self) -> str: ...
    def spawn(self, coro: Any) -> None: ...
    async def send(self, msg: m.Message) -> None: ...


def agent_words(keys: int, buttons: int, silence: float) -> str:
    """What the agent is told (``Notice.HELD_RELEASED``)."""
    return (f"the host let go of the {held_words(keys, buttons)} you held down: nothing"
            f" came from you for {silence:g} s (your link went silent); press again"
            " what you need")  # fmt: skip


#: :func:`agent_words`' own sentences, and nothing else (review44: the view
#: printed any text of a ``HELD_RELEASED`` notice as its own line).
_AGENT_WORDS = re.compile(
    r"the host let go of the (?:\d{1,6} keys?(?: and \d{1,6} mouse buttons?)?"
    r"|\d{1,6} mouse buttons?) you held down: nothing came from you for \d{1,4}(?:\.\d{1,3})?"
    r" s \(your link went silent\); press again what you need")


def is_agent_words(text: str) -> bool:
    """Whether ``text`` is one of :func:`agent_words`' sentences (a host's
    notice of another text is not shown as it came)."""
    return _AGENT_WORDS.fullmatch(text) is not None


def _quiet_since(link: Watched) -> float | None:
    """Loop time since which ``link``'s warm agent has been silent, or None
    if its silence is not judged (module notes)."""
    channel = link.channel
    if not getattr(channel, "keeps_warm", False) or getattr(channel, "closed", True):
        return None
    since = getattr(channel, "waiting_since", None)
    return float(since) if isinstance(since, (int, float)) else None


async def let_go_when_silent(link: Watched) -> None:
    """Run for the session's life: once ``link``'s agent holds a key or a
    button down and nothing has come from it for :data:`HELD_SILENCE`
    seconds, let go of what it holds."""
    loop = asyncio.get_running_loop()
    # Since when this program is known to have run: a host whose own loop
    # stalled (CPU starved) for seconds has the agent's bytes waiting unread,
    # and that silence is the host's, not the agent's (as the channel's
    # watch counts it).
    running_since = loop.time()
    while True:
        since = _quiet_since(link)
        wait = _LOOK
        if since is not None and link.gate.holding and CONTROL in link.level:
            left = max(since, running_since) + HELD_SILENCE - loop.time()
            if left <= 0:
                _let_go(link)
            else:
                wait = min(left, _LOOK)
        asked = loop.time()
        await asyncio.sleep(wait)
        if loop.time() - asked > wait + _OVERSLEPT:
            running_since = loop.time()


def _let_go(link: Watched) -> None:
    """Let go of what ``link``'s agent holds, and say so once: what was let
    go of (keys44: a key another agent holds too stays down, and is not
    counted); nothing said if nothing was."""
    link.gate.released_silent += 1
    keys, buttons = link.host.release_input_of(link)
    if not keys and not buttons:
        return
    link.host.emit(InputLetGo(link.peer, keys, buttons, HELD_SILENCE))
    words = agent_words(keys, buttons, HELD_SILENCE)
    link.gate.untold = (words, asyncio.get_running_loop().time())
    link.spawn(_tell(link, words))


def untold(link: Watched) -> str:
    """The words of a silent release that ``link``'s agent may not have
    read: it was not heard from after it (its link came back, or the
    notice went with it). "" if none."""
    told = link.gate.untold
    heard = getattr(link.channel, "last_heard", None)
    if told is None or (isinstance(heard, (int, float)) and heard > told[1]):
        return ""
    return told[0]


async def _tell(link: Watched, words: str) -> None:
    # Waits for the link to take it; a link that ends first was not told.
    with contextlib.suppress(ScreencodecError):
        await link.send(m.Notice(m.Notice.HELD_RELEASED, words))
