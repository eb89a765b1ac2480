"""Unit tests of the session layer's small parts: flow control, permissions,
consent rules, events, the in-memory channel."""

from __future__ import annotations

import asyncio
import io
import queue

import pytest

from screencodec.errors import SessionClosedError
from screencodec.transport import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Permission,
    SharingChanged,
    channel_pair,
    register_permission,
)
from screencodec.transport.session.consent import TerminalQuestions, ask
from screencodec.transport.session.events import (
    ChatReceived,
    EventHub,
    FrameDecoded,
    PermissionChanged,
)

from .helpers import run, until


def test_permission_registry_is_open() -> None:
    clip = register_permission("clipboard-test")
    both = VIEW | clip
    assert clip in both and CONTROL not in both
    assert set(both.names) == {"view", "clipboard-test"}
    assert (both - clip) == VIEW
    assert Permission(1 << 63).known == Permission()  # unregistered bit: never granted
    with pytest.raises(ValueError, match="already has bit"):
        register_permission("view", 5)
    with pytest.raises(ValueError, match="taken"):
        register_permission("other-test", 0)


def test_consent_fails_closed() -> None:
    req = ConsentRequest("a", "p", VIEW | CONTROL)

    async def boom(r: ConsentRequest) -> Grant:
        raise RuntimeError("UI crashed")

    async def wrong_type(r: ConsentRequest) -> Grant:
        return True  # type: ignore[return-value]

    async def greedy(r: ConsentRequest) -> Grant:
        return Grant(Permission((1 << 64) - 1))

    async def main() -> None:
        assert not (await ask(boom, req, 1)).granted
        assert not (await ask(wrong_type, req, 1)).granted
        assert (await ask(greedy, req, 1)).level == VIEW | CONTROL

    run(main())


def test_event_hub_is_bounded() -> None:
    async def main() -> None:
        hub = EventHub(maxsize=4)
        hub.emit(SharingChanged(("nobody listening",)))  # dropped: no subscriber
        sub = hub.subscribe()
        for i in range(10):
            hub.emit(SharingChanged((str(i),)))
        assert hub.lost == 6
        hub.close()
        got = [ev async for ev in sub]
        assert [ev.viewers for ev in got] == [("6",), ("7",), ("8",), ("9",)]  # type: ignore[union-attr]

    run(main())


def test_a_chat_flood_does_not_push_a_permission_change_out_of_a_slow_ui() -> None:
    """A UI that reads its events late (256 behind) and a peer that sends
    300 chat lines after the agent was granted control: the UI must still
    learn of the grant (it shows who controls the mouse). Chat, stats and
    pictures go first; the rest only when nothing of those is queued."""

    async def main() -> None:
        hub = EventHub(maxsize=8)
        sub = hub.subscribe()
        hub.emit(FrameDecoded(1, 64, 48))
        hub.emit(PermissionChanged("agent", VIEW | CONTROL))
        for i in range(300):
            hub.emit(ChatReceived("agent", f"line {i}"))
        hub.emit(SharingChanged(("agent",)))
        hub.close()
        got = [ev async for ev in sub]
        assert isinstance(got[0], PermissionChanged) and got[0].level == VIEW | CONTROL
        assert isinstance(got[-1], SharingChanged)
        assert [ev.text for ev in got[1:-1]] == [f"line {i}" for i in range(294, 300)]  # type: ignore[union-attr]
        assert hub.lost == 1 + 294  # the picture, then the oldest chat lines

    run(main())


def test_closing_a_subscription_ends_a_waiting_reader() -> None:
    async def main() -> None:
        hub = EventHub()
        sub = hub.subscribe()
        reader = asyncio.ensure_future(anext(sub))
        await asyncio.sleep(0)
        sub.close()
        with pytest.raises(StopAsyncIteration):
            await asyncio.wait_for(reader, 1.0)

    run(main())


def test_memory_channel_semantics() -> None:
    async def main() -> None:
        a, b = channel_pair()
        await a.send(b"one")
        await a.send(b"two")
        assert [await b.recv(), await b.recv()] == [b"one", b"two"]
        pending = asyncio.ensure_future(b.recv())
        await asyncio.sleep(0)
        await a.close()
        with pytest.raises(SessionClosedError):
            await pending
        with pytest.raises(SessionClosedError):
            await a.send(b"x")
        assert a.closed and b.closed

    run(main())


def test_public_api_surface() -> None:
    import screencodec.transport as t

    assert sorted(t.__all__) == sorted(
        [
            "CONTROL", "MAX_MESSAGE_SIZE", "VIEW", "Channel", "ChatDelivery", "ChatReceived",
            # walk39 (a service built on share()/view()), clip39, clipfix39:
            "ChatBacklogError", "ClipboardError", "ClipboardReceived", "ClipboardRefused",
            "ClipboardSent", "ClipboardSet", "ExtensionHandler", "FileConsent", "FileOfferInfo",
            "Subscription", "safe_filename",
            "ConsentCallback",
            "ConsentRequest", "CursorMoved", "Event", "EventsLost", "FileCut", "FileReceived",
            "FileRefused", "FileSent",
            "FrameDecoded", "Grant", "Host", "HostConfig", "LinkStats", "Permission",
            "PermissionChanged", "RelayChanged",
            "RecordingInjector", "Refusal", "Relay", "SessionCredentials", "Timeouts",
            "connect_direct", "connect_via_relay", "host_via_relay", "listen_direct",
            "session_encoder",
            "PointerState", "SessionEnded", "SessionRejoined", "SessionResumed", "SharingChanged",
            "SourceFactory",
            "StatsUpdated",
            "Viewer", "allow", "channel_pair", "deny", "register_permission", "terminal_consent",
            "PasswordGuessed", "Questions", "TerminalQuestions", "safe_text", "SharedScreen",
            "first_picture", "share", "view",
        ]
    )  # fmt: skip
    for name in t.__all__:
        assert getattr(t, name) is not None


class TypedLines(io.TextIOBase):
    """A terminal's stdin, typed by the test: ``readline`` blocks until a line is
    typed; ``reads`` counts readline calls, so a test can wait until the
    reader has taken a line in (it asks for the next one only after that)."""

    def __init__(self) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        self.reads = 0

    def type(self, line: str) -> None:
        self._lines.put(line)

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        self.reads += 1
        return self._lines.get()

    async def taken_in(self, n: int) -> None:
        """Wait until the reader has handed line ``n`` (from 1) to the loop."""
        await until(lambda: self.reads > n, 5, f"line {n} read")
        # The reader handed the line over (call_soon_threadsafe) before reading
        # again; one loop turn later its callback has run.
        await asyncio.sleep(0)


def test_terminal_question_ignores_lines_typed_before_it() -> None:
    from screencodec.transport.session.consent import terminal_consent, terminal_yes_no

    async def main() -> None:
        keys = TypedLines()
        out = io.StringIO()
        consent = terminal_consent(keys, out)  # starts reading the terminal
        request = ConsentRequest("agent", "peer", VIEW)

        def prompts() -> int:
            return out.getvalue().count("[y/N]")

        keys.type("y\n")  # typed before any question
        await keys.taken_in(1)
        first = asyncio.ensure_future(consent(request))
        await until(lambda: prompts() == 1, 5, "the first question")
        keys.type("n\n")
        # Had the early "y" counted, it would have answered, and granted.
        assert not (await asyncio.wait_for(first, 5)).granted

        # A question that times out is a no, and a late "y" typed for it does not
        # answer the next one. (Put HOLD after the last close: one put sooner
        # waits out the hold, longer than its 0.1 s, and is never shown.)
        await asyncio.sleep(TerminalQuestions.HOLD)
        assert not (await ask(consent, request, 0.1)).granted
        assert prompts() == 2
        keys.type("y\n")
        await keys.taken_in(3)
        third = asyncio.ensure_future(consent(request))
        await until(lambda: prompts() == 3, 5, "the third question")
        keys.type("no\n")
        assert not (await asyncio.wait_for(third, 5)).granted

        # An answer typed after its question grants.
        fourth = asyncio.ensure_future(consent(request))
        await until(lambda: prompts() == 4, 5, "the fourth question")
        keys.type("yes\n")
        assert (await asyncio.wait_for(fourth, 5)).level == VIEW

        keys.type("")  # end of input
        assert await asyncio.wait_for(terminal_yes_no("eof?", keys, out), 5) is False

    run(main())
