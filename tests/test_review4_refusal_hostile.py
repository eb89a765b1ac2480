"""review4 of files2's refusal reasons (7eba360), from a hostile receiver:
a viewer that announced file results and sends refusal reasons (payload
0x05) at will to a real host that sends it files: before any offer, for the
transfer offered (which it then accepts), thousands for transfers never
offered, with the largest number and codes no version knows. The host's
session carries on; a file the viewer accepts and says saved is
"delivered", with no why; one it refuses says the reason of its own 0x05,
worded by the host (nothing of the peer's is shown); the host keeps no
reason once its offer is answered. Real host on loopback, a hand-written
viewer."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

from screencodec.transport import VIEW
from screencodec.transport.channel.sealed import SecureChannel
from screencodec.transport.session import messages as m
from screencodec.transport.session.consent import allow
from screencodec.transport.session.sidechannels import (
    BUSY,
    FILE_RESULTS_CHANNEL,
    file_refusal,
    file_results_announcement,
)
from transport.secure_fixtures import run
from transport.test_attack_caps import _granted, _session

#: The announcement of a viewer that does not pace (no progress to send).
UNPACED = m.Extension(FILE_RESULTS_CHANNEL, file_results_announcement().payload[:1])
LARGEST = (1 << 64) - 1


async def _next(ch: SecureChannel, kind: type[m.Message]) -> m.Message:
    while not isinstance(msg := m.decode(await ch.recv()), kind):
        pass
    return msg


def test_review4_refusal_reasons_from_a_hostile_viewer_never_misword_a_file(
    tmp_path: Path,
) -> None:
    kept, refused = tmp_path / "kept.txt", tmp_path / "refused.txt"
    kept.write_bytes(b"k" * 1000)
    refused.write_bytes(b"r" * 1000)

    async def main() -> None:
        async with _session(allow()) as (host, ch):
            assert isinstance(await _granted(ch), m.PermissionGrant)
            await ch.send(m.encode(UNPACED))
            for transfer in (0, 1, 2):  # before any offer: no answer waits
                await ch.send(m.encode(file_refusal(transfer, BUSY, 3)))
            (peer,) = host.viewers
            (link,) = host._runtime.links
            sender = host._runtime.sender_for(link)
            sending = asyncio.ensure_future(host.send(kept, peer))
            offer = await _next(ch, m.FileOffer)
            assert isinstance(offer, m.FileOffer)
            for transfer in range(offer.transfer + 1, offer.transfer + 3000):
                code = transfer % 256
                await ch.send(m.encode(file_refusal(transfer, code, LARGEST)))
            await ch.send(m.encode(file_refusal(offer.transfer, 99, LARGEST)))
            await ch.send(m.encode(m.FileAccept(offer.transfer, True)))  # and yet it accepts
            data = b""
            while not isinstance(msg := await _next(ch, m.FileChunk | m.FileEnd), m.FileEnd):
                assert isinstance(msg, m.FileChunk)
                data += msg.data
            assert msg.sha256 == hashlib.sha256(data).digest() and data == kept.read_bytes()
            await ch.send(m.encode(m.FileResult(offer.transfer, True)))
            assert (await sending).why == "" and sending.result().outcome == "delivered"

            sending = asyncio.ensure_future(host.send(refused, peer))
            offer = await _next(ch, m.FileOffer)
            assert isinstance(offer, m.FileOffer)
            await ch.send(m.encode(file_refusal(offer.transfer, BUSY, LARGEST)))
            await ch.send(m.encode(m.FileAccept(offer.transfer, False)))
            sent = await sending
            assert (sent.outcome, sent.why) == ("declined", "refused unasked: its user has"
                                                " questions open already: send it again once"
                                                " they are answered")  # fmt: skip
            await ch.send(m.encode(file_refusal(offer.transfer, 1, 0)))  # after its answer
            await ch.send(m.encode(m.PermissionRequest(VIEW.bits, "agent")))  # held: answered
            assert isinstance(await _granted(ch), m.PermissionGrant)  # the session carries on
            assert sender._refusals == {}  # nothing kept of 3000 reasons

    run(main(), timeout=30)
