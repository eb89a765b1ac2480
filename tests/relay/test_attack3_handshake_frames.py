"""While a pair's end-to-end handshake runs, the relay reads each frame whole
before forwarding it (it watches for the CONFIRMs), so whatever length a
frame claims is memory the relay holds. The handshake's frames are at most
1 KiB (HANDSHAKE_FRAME_MAX, what both ends take); the relay took frames up to
a sealed record's size (64 MiB). Attack: join any registered code (codes are
public) and send handshake frames far over 1 KiB, from many pairs at once:
each pair makes the relay hold up to 64 MiB for the 5 s the handshake may
last. Real relay and host registration on loopback; the tap shows what the
relay forwarded. Expected outcome: a handshake frame over 1 KiB is refused
on its header (the pair is cut, nothing of it forwarded), and the code's
real viewer still gets in."""

from __future__ import annotations

import asyncio
import contextlib

from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.channel.framing import HEADER, FrameType
from screencodec.transport.channel.limits import HANDSHAKE_FRAME_MAX, Timeouts
from screencodec.transport.connect import connect_via_relay, host_via_relay
from screencodec.transport.connect.via_relay import open_relay
from screencodec.transport.relay import ROLE_VIEWER, Relay

from .cluster import run

FAST = Timeouts(handshake=5.0, idle=None, keepalive=None, max_duration=None)


def test_a_handshake_frame_over_one_kib_is_cut_on_its_header() -> None:
    forwarded: list[tuple[str, int]] = []

    async def main() -> None:
        creds = SessionCredentials()
        async with Relay(tap=lambda d, b: forwarded.append((d, len(b)))) as relay:
            reg = await host_via_relay("127.0.0.1", relay.port, creds, lambda ch: None,
                                       timeouts=FAST)
            try:
                await reg.wait_registered(5)
                reader, writer = await open_relay("127.0.0.1", relay.port, ROLE_VIEWER,
                                                  creds.code, bytes(16), timeout=5)
                body = b"\0" * (2 * HANDSHAKE_FRAME_MAX)
                writer.write(HEADER.pack(len(body) + 1, FrameType.HELLO) + body)
                answer = await asyncio.wait_for(reader.read(), 10)  # until the end
                # Cut by the relay, not passed on for the host to refuse.
                assert answer == b"", answer
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                viewer = await connect_via_relay("127.0.0.1", relay.port, creds.code,
                                                 creds.password, timeouts=FAST)
                await viewer.close()
            finally:
                await reg.close()

    run(main())
    big = [(d, n) for d, n in forwarded if n > HEADER.size + HANDSHAKE_FRAME_MAX]
    assert big == [], "the relay forwarded a handshake frame over 1 KiB"
