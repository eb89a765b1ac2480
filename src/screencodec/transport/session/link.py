"""One viewer's session inside the host: consent, then stream + receive.

Tasks per session (all on the host's event loop):

* the *receive loop* (the task that called :meth:`ViewerLink.run`): parses and
  dispatches every message from the viewer; any ProtocolError ends this
  session only;
* the *send loop* (:class:`~.streaming.Streamer`, see there);
* the *cursor loop* (:class:`~.pointer.CursorStreamer`): the pointer at input
  rate, beside the pixels and outside their flow control;
* the *stats loop*; and short tasks for consent questions (permission upgrade,
  file offers) so the screen keeps flowing while the local user reads.

A helper task that fails ends the session: it records the failure and closes
the channel, which wakes the receive loop, which re-raises it.

Nothing is grabbed, encoded or sent before :func:`~.consent.ask` returned a
grant that includes VIEW.
"""

from __future__ import annotations

import asyncio
from typing import Any

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.base import Channel
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import ask
from screencodec.transport.session.encoding import choose_encoder
from screencodec.transport.session.events import (
    ChatReceived,
    FileReceived,
    PermissionChanged,
    StatsUpdated,
)
from screencodec.transport.session.flow import CongestionControl
from screencodec.transport.session.input_gate import InputGate
from screencodec.transport.session.permissions import CONTROL, VIEW, ConsentRequest, Permission
from screencodec.transport.session.pointer import CursorStreamer
from screencodec.transport.session.services import SessionHost
from screencodec.transport.session.stats import LinkStats
from screencodec.transport.session.streaming import Streamer

__all__ = ["ViewerLink"]

_HELLO_TIMEOUT = 10.0


class ViewerLink:
    def __init__(self, host: SessionHost, channel: Channel) -> None:
        self.host = host
        self.channel = channel
        self.peer = channel.peer
        self.who = ""
        self.level = Permission()
        self.gate = InputGate(self)
        self.monitor = host.config.monitor
        self._watching: int | None = None  # the monitor acquired in the hub
        #: What the viewer declared it decodes (a viewer that says nothing is a
        #: version-0.1 viewer: every op of that version, both profiles, no receipts).
        self.capabilities = m.Capabilities.legacy()
        self.stream = Streamer(self, choose_encoder(self.capabilities, host.encoder_factory))
        self.pointer = CursorStreamer(self)
        self._fresh = True  # no message since the grant yet
        self._tasks: set[asyncio.Task[Any]] = set()
        self._upgrading = False
        self.failure: BaseException | None = None

    @property
    def flow(self) -> CongestionControl:
        return self.stream.flow

    async def send(self, msg: m.Message) -> None:
        await self.channel.send(m.encode(msg))

    async def send_raw(self, payload: bytes) -> None:
        """Send a message already encoded (the send loop's updates)."""
        await self.channel.send(payload)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # A helper task failing (send loop, consent, file) ends the session:
            # closing the channel wakes the receive loop with SessionClosedError.
            self.failure = task.exception()
            self.spawn_close()

    def spawn_close(self) -> None:
        self._closer = asyncio.ensure_future(self.channel.close())

    # -- lifecycle ---------------------------------------------------------

    async def run(self) -> str:
        """Serve this viewer until it ends; returns the reason."""
        try:
            hello = await asyncio.wait_for(self._hello(), _HELLO_TIMEOUT)
        except asyncio.TimeoutError:
            return "viewer sent no request"
        self.who = hello.who
        asked = Permission(hello.level).known
        if VIEW not in asked:
            await self.send(m.PermissionDeny(hello.level))
            return "viewer did not ask to view"
        request = ConsentRequest(self.who, self.peer, asked)
        grant = await ask(self.host.consent, request, self.host.config.consent_timeout)
        if VIEW not in grant.level:
            await self.send(m.PermissionDeny(hello.level))
            await self.send(m.Bye("the local user declined"))
            return "consent denied"
        self.level = grant.level
        monitors = self.host.hub.monitors(self.monitor)
        self.watch(self.monitor)
        await self.send(m.PermissionGrant(self.level.bits))
        await self.send(m.MonitorList(monitors, self.monitor))
        self.host.joined(self)
        self.spawn(self.stream.run())
        self.spawn(self.pointer.run())
        self.spawn(self._stats_loop())
        return await self._recv_loop()

    async def _hello(self) -> m.PermissionRequest:
        """The viewer's opening: its Capabilities (optional), then its request."""
        hello = m.decode(await self.channel.recv())
        if isinstance(hello, m.Capabilities):
            self.capabilities = hello
            hello = m.decode(await self.channel.recv())
        if not isinstance(hello, m.PermissionRequest):
            raise ProtocolError(f"expected a permission request, got {type(hello).__name__}")
        # Nothing is encoded before the grant: the encoder is opened with this.
        self.stream.choice = choose_encoder(self.capabilities, self.host.encoder_factory)
        return hello

    async def cleanup(self) -> None:
        """Release everything, even if cancelled while doing so (host shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        try:
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            # In a worker thread: it waits for an encode still running there (a
            # cancelled send loop cannot stop its thread) and completes even if
            # this coroutine is cancelled meanwhile.
            await asyncio.to_thread(self.stream.shutdown_encoder)
        finally:
            if CONTROL in self.level:
                self.host.release_input()
            if self._watching is not None:
                self.host.hub.release(self._watching)
                self._watching = None
            self.host.files_for(self).close()
            await self.channel.close()

    def watch(self, index: int) -> None:
        """Show monitor ``index`` from now on (acquire it before releasing the old)."""
        self.host.hub.acquire(index)
        if self._watching is not None and self._watching != index:
            self.pointer.reset()  # other coordinates: send the pointer afresh
        if self._watching is not None:
            self.host.hub.release(self._watching)
        self._watching = index
        self.monitor = index

    async def _recv_loop(self) -> str:
        while True:
            if self.failure is not None:
                raise self.failure
            try:
                data = await self.channel.recv()
            except SessionClosedError:
                if self.failure is not None:
                    raise self.failure from None
                raise
            msg = m.decode(data)
            if isinstance(msg, m.Bye):
                return f"viewer said bye: {msg.reason}" if msg.reason else "viewer said bye"
            await self._dispatch(msg)
            self._fresh = False

    async def _dispatch(self, msg: m.Message) -> None:
        if isinstance(msg, m.Receipt):
            span = None if msg.span_us == m.Receipt.NO_SPAN else msg.span_us / 1e6
            self.stream.on_receipt(msg.seq, msg.arrived_us / 1e6, msg.held_us / 1e6, span)
        elif isinstance(msg, m.Ack):
            self.stream.on_receipt(msg.seq)
        elif isinstance(msg, m.KeyframeRequest):
            self.stream.request_keyframe()
            if not self._fresh:  # a join request: the new cursor encoder has sent all
                self.pointer.reset()
        elif isinstance(msg, m.PointerMove | m.Button | m.Wheel | m.Key):
            await self.gate.handle(msg)
        elif isinstance(msg, m.PermissionRequest):
            if not self._upgrading:
                self._upgrading = True
                self.spawn(self._upgrade(Permission(msg.level)))
        elif isinstance(msg, m.SelectMonitor):
            monitors = self.host.hub.monitors(self.monitor)
            if any(mon.index == msg.index for mon in monitors):
                self.stream.switch_to = msg.index
            else:
                await self.send(m.Notice(m.Notice.UNKNOWN_MONITOR, f"no monitor {msg.index}"))
        elif isinstance(msg, m.Chat):
            self.host.emit(ChatReceived(self.peer, msg.text))
        elif isinstance(msg, m.FileOffer):
            self.spawn(self._file_offer(msg))
        elif isinstance(msg, m.FileChunk):
            self.host.files_for(self).on_chunk(msg)
        elif isinstance(msg, m.FileEnd):
            path, size = self.host.files_for(self).on_end(msg)
            self.host.emit(FileReceived(self.peer, str(path), size))
        elif isinstance(msg, m.FileAccept):
            self.host.sender_for(self).on_accept(msg)
        elif isinstance(msg, m.Extension):
            handler = self.host.extensions.get(msg.channel)
            if handler is not None:
                reply = await handler(self.peer, msg.payload)
                if reply is not None:
                    await self.send(m.Extension(msg.channel, reply))
        else:
            raise ProtocolError(f"a viewer may not send {type(msg).__name__}")

    async def _upgrade(self, asked: Permission) -> None:
        try:
            wanted = asked.known - self.level
            if not wanted and asked.known == asked:  # all of it is granted already
                await self.send(m.PermissionGrant(self.level.bits))
                return
            request = ConsentRequest(self.who, self.peer, wanted, upgrade=True)
            grant = await ask(self.host.consent, request, self.host.config.consent_timeout)
            if not wanted or not grant.granted:
                await self.send(m.PermissionDeny(asked.bits))
                return
            self.level = self.level | grant.level
            await self.send(m.PermissionGrant(self.level.bits))
            self.host.emit(PermissionChanged(self.peer, self.level))
        finally:
            self._upgrading = False

    async def _file_offer(self, offer: m.FileOffer) -> None:
        answer = await self.host.files_for(self).on_offer(offer, self.peer)
        await self.send(answer)

    async def revoke(self, level: Permission) -> None:
        removed = self.level & level
        if not removed:
            return
        self.level = self.level - removed
        if CONTROL in removed:
            self.host.release_input()
        await self.send(m.PermissionRevoke(removed.bits, self.level.bits))
        self.host.emit(PermissionChanged(self.peer, self.level))
        if VIEW not in self.level:
            await self.send(m.Bye("the local user stopped sharing"))
            await self.channel.close()

    def snapshot(self) -> LinkStats:
        meter = self.stream.meter
        fps, kbps = meter.rates()
        quality = self.stream.quality
        return LinkStats(
            peer=self.peer,
            fps=fps,
            kbps=kbps,
            rtt_ms=(self.flow.srtt or 0.0) * 1000,
            in_flight=self.flow.in_flight,
            sent=meter.sent,
            skipped=self.flow.skipped,
            input_dropped=self.gate.dropped + self.gate.dropped_local,
            bytes_sent=meter.bytes_sent,
            link_kbps=self.flow.rate * 8 / 1000,
            target_kbps=self.flow.target_rate() * 8 / 1000,
            queue_ms=self.flow.queue_delay * 1000,
            lossy_pixels=int(quality.get("lossy_area", 0)),
            psnr=quality.get("psnr"),
        )

    async def _stats_loop(self) -> None:
        while True:
            await asyncio.sleep(self.host.config.stats_period)
            snap = self.snapshot()
            self.host.emit(StatsUpdated(snap))
            await self.send(
                m.Stats(
                    int(snap.fps * 1000), int(snap.kbps), int(snap.rtt_ms * 1000),
                    snap.skipped & 0xFFFFFFFF, snap.sent & 0xFFFFFFFF,
                )
            )  # fmt: skip
