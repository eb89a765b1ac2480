"""SecureChannel over loopback: every hostile or faulty stream has one exact outcome.

Frames from the viewer are numbered from 0: hello, PAKE, confirm, then
records from 3 on. The FrameProxy hook rewrites them on the way to the host.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.base import MAX_MESSAGE_SIZE, Channel
from screencodec.transport.channel.framing import HEADER, FrameType
from screencodec.transport.channel.limits import Timeouts
from screencodec.transport.channel.sealed import SecureChannel

from .secure_fixtures import FAST, FrameHook, FrameProxy, both_loops, direct_pair, run

FIRST_RECORD = 3


async def _drain(channel: SecureChannel, into: list[bytes]) -> BaseException:
    """Receive until the channel fails; return the failure."""
    while True:
        try:
            into.append(await asyncio.wait_for(channel.recv(), 5))
        except (ProtocolError, SessionClosedError) as exc:
            return exc


async def _through(hook: FrameHook, messages: list[bytes]) -> tuple[list[bytes], BaseException]:
    """Send messages viewer->host through a proxy running ``hook``; return what the
    host received before the error, and the error."""
    proxy: list[FrameProxy] = []

    async def via(port: int) -> int:
        proxy.append(FrameProxy(port, to_server=hook))
        return await proxy[0].start()

    got: list[bytes] = []
    try:
        async with direct_pair(via=via) as (viewer, host, _):
            for m in messages:
                await viewer.send(m)
            error = await _drain(host, got)
            assert host.closed
            with pytest.raises(SessionClosedError):
                await host.recv()  # stays closed
            return got, error
    finally:
        await proxy[0].close()


def test_channel_satisfies_the_protocol() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            assert isinstance(viewer, Channel)
            assert isinstance(host, Channel)
            assert host.peer.startswith("127.0.0.1:")

    run(main())


def test_replayed_record() -> None:
    def hook(i: int, f: bytes) -> list[bytes]:
        return [f, f] if i == FIRST_RECORD else [f]

    got, err = run(_through(hook, [b"a", b"b"]))
    assert got == [b"a"]
    assert type(err) is ProtocolError
    assert "failed authentication" in str(err)


@both_loops
def test_tampered_byte_in_ciphertext(loop_kind: str) -> None:
    def hook(i: int, f: bytes) -> list[bytes]:
        if i == FIRST_RECORD + 1:
            f = f[:-3] + bytes([f[-3] ^ 0x40]) + f[-2:]
        return [f]

    got, err = run(_through(hook, [b"a", b"b", b"c"]), loop_kind=loop_kind)
    assert got == [b"a"]
    assert type(err) is ProtocolError


def test_tampered_record_type() -> None:
    def hook(i: int, f: bytes) -> list[bytes]:
        if i == FIRST_RECORD:
            f = f[:4] + bytes([FrameType.RECORD_KEEPALIVE]) + f[5:]
        return [f]

    got, err = run(_through(hook, [b"a"]))
    assert got == []
    assert type(err) is ProtocolError


def test_reordered_records() -> None:
    held: list[bytes] = []

    def hook(i: int, f: bytes) -> list[bytes]:
        if i == FIRST_RECORD:
            held.append(f)
            return []
        if i == FIRST_RECORD + 1:
            return [f, *held]
        return [f]

    got, err = run(_through(hook, [b"a", b"b"]))
    assert got == []
    assert type(err) is ProtocolError


def test_dropped_record() -> None:
    def hook(i: int, f: bytes) -> list[bytes]:
        return [] if i == FIRST_RECORD else [f]

    got, err = run(_through(hook, [b"a", b"b"]))
    assert got == []
    assert type(err) is ProtocolError


def test_truncated_record_then_eof() -> None:
    def hook(i: int, f: bytes) -> list[bytes] | None:
        if i == FIRST_RECORD + 1:
            return None  # the proxy below cuts the stream after half a record
        return [f]

    def cut(i: int, f: bytes) -> list[bytes] | None:
        if i == FIRST_RECORD + 1:
            return [f[: len(f) // 2]]
        if i > FIRST_RECORD + 1:
            return None
        return [f]

    got, err = run(_through(cut, [b"a", b"b" * 1000, b"c"]))
    assert got == [b"a"]
    # The line broke inside a record: a lost link (it may be resumed), said so.
    assert type(err) is SessionClosedError
    assert "truncated" in str(err)
    del hook


def test_eof_inside_a_header_is_truncation() -> None:
    def cut(i: int, f: bytes) -> list[bytes] | None:
        return [f[:3]] if i == FIRST_RECORD else [f] if i < FIRST_RECORD else None

    got, err = run(_through(cut, [b"a", b"b"]))
    assert got == []
    assert type(err) is SessionClosedError and "truncated" in str(err)


def test_viewer_vanishes_mid_record() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            raw = viewer._writer  # the viewer process "dies" after half a record
            raw.write(HEADER.pack(1001, FrameType.RECORD_DATA) + b"x" * 500)
            await raw.drain()
            raw.close()
            with pytest.raises(SessionClosedError, match="truncated"):
                await host.recv()
            assert host.closed and host.broken

    run(main())


def test_oversized_length_prefix_fails_before_reading_the_body() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            raw = viewer._writer
            raw.write(HEADER.pack(0xFFFF_FFF0, FrameType.RECORD_DATA))  # no body follows
            await raw.drain()
            # No body ever follows: a receiver waiting for it would never return.
            with pytest.raises(ProtocolError, match="exceeds the limit"):
                await asyncio.wait_for(host.recv(), 10)
            assert host.closed

    run(main())


def test_clean_close_and_vanished_peer_are_session_closed() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            await viewer.close()
            with pytest.raises(SessionClosedError, match="closed by peer"):
                await host.recv()
            with pytest.raises(SessionClosedError):
                await viewer.send(b"late")
        async with direct_pair() as (viewer, host, _):
            viewer._writer.close()  # gone between records, no close record
            with pytest.raises(SessionClosedError):
                await host.recv()

    run(main())


def test_close_forgets_keys_and_cannot_resume() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            keys = viewer._keys
            pending = asyncio.ensure_future(viewer.recv())
            await asyncio.sleep(0)  # the receive has begun
            await viewer.close()
            await viewer.close()  # idempotent
            with pytest.raises(SessionClosedError):
                await pending
            assert keys.viewer_to_host == bytearray(32)
            assert keys.host_to_viewer == bytearray(32)
            assert keys.confirm_viewer == bytearray(32)
            assert viewer._sealer._aead is None
            with pytest.raises(SessionClosedError):
                await host.recv()

    run(main())


def test_idle_timeout_closes_a_silent_channel() -> None:
    async def main() -> None:
        host_t = Timeouts(handshake=5, idle=0.3, keepalive=None)
        async with direct_pair(timeouts=host_t, viewer_timeouts=FAST) as (_, host, _l):
            start = time.monotonic()  # before the read that the idle time counts from
            with pytest.raises(SessionClosedError, match=r"nothing received for 0\.3 s"):
                await host.recv()
            assert time.monotonic() - start >= 0.3  # never before the idle time
            assert host.closed

    run(main())


def test_keepalive_keeps_an_idle_channel_open() -> None:
    async def main() -> None:
        # Ten keepalives to an idle time: a loaded machine's stall of a few
        # hundred ms (both ends share this loop) must not pass for silence
        # (0.4 s failed once beside busy helpers).
        host_t = Timeouts(handshake=5, idle=1.0, keepalive=None)
        viewer_t = Timeouts(handshake=5, idle=None, keepalive=0.1)
        # A control pair, silent and with twice the idle time, started after:
        # once its idle timer has closed it, the kept-alive pair's would have.
        control_t = Timeouts(handshake=5, idle=2.0, keepalive=None)
        async with direct_pair(timeouts=host_t, viewer_timeouts=viewer_t) as (viewer, host, _):
            reader = asyncio.ensure_future(host.recv())  # keepalives never surface
            async with direct_pair(timeouts=control_t, viewer_timeouts=FAST) as (_, silent, _l):
                with pytest.raises(SessionClosedError, match="nothing received"):
                    await silent.recv()
            assert not host.closed and not reader.done()
            await viewer.send(b"still here")
            assert await reader == b"still here"

    run(main())


def test_maximum_duration_closes_both_ends() -> None:
    async def main() -> None:
        host_t = Timeouts(handshake=5, idle=None, keepalive=None, max_duration=0.3)
        start = time.monotonic()  # before the channel opened
        async with direct_pair(timeouts=host_t, viewer_timeouts=FAST) as (viewer, host, _):
            with pytest.raises(SessionClosedError, match="maximum session duration"):
                await viewer.recv()
            assert host.closed
            assert host.close_reason == "maximum session duration reached"
            assert time.monotonic() - start >= 0.3  # never before

    run(main())


def test_concurrent_senders_stay_ordered_and_complete() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):

            async def sender(tag: int) -> None:
                for n in range(50):
                    await viewer.send(bytes([tag]) + n.to_bytes(2, "big") + b"." * (n * 97))

            tasks = [asyncio.ensure_future(sender(t)) for t in range(4)]
            seen: dict[int, list[int]] = {t: [] for t in range(4)}
            for _ in range(200):
                m = await host.recv()
                seen[m[0]].append(int.from_bytes(m[1:3], "big"))
            await asyncio.gather(*tasks)
            assert all(v == list(range(50)) for v in seen.values())

    run(main())


def test_sequence_exhaustion_closes_instead_of_wrapping() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, _host, _):
            viewer._sealer.seq = viewer._sealer.seq_limit
            with pytest.raises(SessionClosedError, match="exhausted"):
                await viewer.send(b"x")
            assert viewer.closed

    run(main())


def test_oversized_send_is_a_local_error() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            with pytest.raises(ValueError, match="exceeds"):
                await viewer.send(bytes(MAX_MESSAGE_SIZE + 1))
            assert not viewer.closed
            await viewer.send(b"ok")
            assert await host.recv() == b"ok"

    run(main())


def test_cancelled_recv_mid_record_loses_nothing() -> None:
    async def main() -> None:
        async with direct_pair() as (viewer, host, _):
            sealed = viewer._sealer.seal(FrameType.RECORD_DATA, b"m" * 5000)
            raw = viewer._writer
            raw.write(HEADER.pack(len(sealed) + 1, FrameType.RECORD_DATA) + sealed[:100])
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(host.recv(), 0.1)  # header read, body incomplete
            raw.write(sealed[100:])
            assert await host.recv() == b"m" * 5000
            await viewer.send(b"next")
            assert await host.recv() == b"next"

    run(main())
