"""An offer the peer never answered, cut by the session's end, is told as
not answered, not as a file the peer could not save (finalreview).

FileSent's contract (events.py): "failed" is a file the peer *accepted* but
could not save. abc5d9a made FileSender.close end an offer still waiting
for its answer with outcome "failed" and why "the session ended", which both
terminals then worded as a saving failure (now "declined", "the session ended
before an answer", worded as not sent): view printed "the host could not
save report.txt: the session ended", the host "'Alice' ... could not save
...". Real host and viewer on loopback; the host's user never answers the
file question; the host ends the session.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.cli.view import _sent_words
from screencodec.transport import VIEW
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run
from .test_resume import _granted, _Setup


def test_an_offer_unanswered_when_the_session_ends_is_not_told_as_not_saved(
    tmp_path: Path,
) -> None:
    asked = asyncio.Event()

    async def never(info: FileOfferInfo) -> bool:
        asked.set()
        await asyncio.Event().wait()  # the host's user does not answer
        return False

    (tmp_path / "in").mkdir()
    path = tmp_path / "report.txt"
    path.write_bytes(b"nine byte")

    async def main() -> None:
        async with _Setup(download_dir=tmp_path / "in", file_consent=never) as s:
            viewer, task = await s.join(VIEW)
            await _granted(viewer)
            sending = asyncio.ensure_future(viewer.sender.send(path))
            await asyncio.wait_for(asked.wait(), 10)
            await s.host.disconnect(reason="the user ended it")
            await task
            sent = await asyncio.wait_for(sending, 10)
            words = _sent_words("report.txt", sent.size, sent.outcome, sent.why)
            assert sent.outcome != "failed", (sent, words)
            assert "could not save" not in words, words

    run(main(), 60)
