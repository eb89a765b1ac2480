"""A service that reads its session events slowly (EventHub, events.py):
memory stays bounded, and an outcome (a file, a consent answer, a session's
end) is never dropped without the subscriber being told. Before, 256 queued
events of kinds that are kept lost the oldest of them without a word."""

from __future__ import annotations

from screencodec.transport.session.events import (
    ChatReceived,
    EventHub,
    EventsLost,
    FileSent,
    FrameDecoded,
    PermissionChanged,
    SessionEnded,
    SharingChanged,
)
from screencodec.transport.session.permissions import CONTROL, VIEW

from .helpers import run


def _outcome(i: int) -> SessionEnded | FileSent:
    """A kept event, numbered: a session's end or a file's outcome."""
    if i % 2:
        return SessionEnded(f"agent{i}", "viewer said bye")
    return FileSent(f"agent{i}", "notes.txt", 10, None, "delivered", "")  # type: ignore[arg-type]


def _peer(ev: object) -> str:
    return ev.peer  # type: ignore[attr-defined, no-any-return]


def test_a_slow_reader_gets_every_outcome_past_maxsize() -> None:
    """300 outcomes queued before the service reads one (the default hub,
    maxsize 256): all 300 arrive, in order, nothing counted lost."""

    async def main() -> None:
        hub = EventHub()
        sub = hub.subscribe()
        for i in range(300):
            hub.emit(_outcome(i))
        hub.close()
        got = [ev async for ev in sub]
        assert [_peer(ev) for ev in got] == [f"agent{i}" for i in range(300)]
        assert hub.lost == 0

    run(main())


def test_a_flood_stays_bounded_and_keeps_every_outcome() -> None:
    """Pictures and chat by the ten thousand between outcomes: what is
    queued stays within maxsize plus the outcomes; every outcome arrives,
    and the last picture and chat line too."""

    async def main() -> None:
        hub = EventHub(maxsize=16)
        sub = hub.subscribe()
        for i in range(20_000):
            hub.emit(FrameDecoded(i, 64, 48) if i % 2 else ChatReceived("agent", f"line {i}"))
            if i % 1000 == 0:
                hub.emit(PermissionChanged("agent", VIEW | CONTROL if i % 2000 else VIEW))
        hub.close()
        got = [ev async for ev in sub]
        assert len(got) <= 16 + 20
        levels = [ev.level for ev in got if isinstance(ev, PermissionChanged)]
        assert levels == [VIEW, VIEW | CONTROL] * 10
        assert got[-1] == FrameDecoded(19_999, 64, 48)
        assert ChatReceived("agent", "line 19998") in got
        assert not any(isinstance(ev, EventsLost) for ev in got)

    run(main())


def test_past_the_limit_the_oldest_outcomes_go_and_the_reader_is_told() -> None:
    """Memory has a bound even for outcomes (``limit``): past it the oldest
    go, and the reader's next event says how many and of which kinds,
    before the ones that remain."""

    async def main() -> None:
        hub = EventHub(maxsize=4, limit=8)
        sub = hub.subscribe()
        for i in range(12):
            hub.emit(_outcome(i))
        got = [await anext(sub) for _ in range(5)]
        assert got[0] == EventsLost(4, ("FileSent", "SessionEnded"))
        assert [_peer(ev) for ev in got[1:]] == [f"agent{i}" for i in range(4, 8)]
        hub.emit(_outcome(12))  # read since: nothing more is told
        hub.close()
        rest = [ev async for ev in sub]
        assert [_peer(ev) for ev in rest] == [f"agent{i}" for i in range(8, 13)]
        assert hub.lost == 4

    run(main())


def test_who_sees_the_screen_is_coalesced_never_lost() -> None:
    """The sharing state supersedes itself: past maxsize the newest takes
    the place of a queued one, and the newest is always there."""

    async def main() -> None:
        hub = EventHub(maxsize=4)
        sub = hub.subscribe()
        for i in range(4):
            hub.emit(_outcome(i))
        hub.emit(SharingChanged(("agent",)))
        hub.emit(SharingChanged(()))
        hub.close()
        got = [ev async for ev in sub]
        assert [_peer(ev) for ev in got[:4]] == [f"agent{i}" for i in range(4)]
        assert got[4:] == [SharingChanged(())]

    run(main())

