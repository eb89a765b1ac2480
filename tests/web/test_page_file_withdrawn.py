"""A host's file offer withdrawn while the agent's page asks about it
(docs/transport.md, "An offer given up"): the viewer's FileReceiver cancels
the task asking (web/files.PageFiles.ask) and tells a FileRefused with why
WITHDRAWN, which the bridge hands to PageFiles.not_saved. Expected outcome:
the page's question row ends, "not saved: the sender stopped waiting ...";
the file_failed message names the question it ends (``offer``). Before,
ask forgot a cancelled question without noting its transfer, so the page got
a separate row and the question stayed on screen (its answer ignored).
Found by the hostcli helper (a strict xfail), fixed by newuser2; the page's
side (the row loses its Accept and Decline) is in
test_newuser2_page_states.py."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from screencodec.transport.session.sidechannels import WITHDRAWN, FileOfferInfo
from screencodec.web.files import PageFiles


def test_a_withdrawn_offer_ends_the_pages_question_row() -> None:
    async def main() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        files = PageFiles(sent.append, {})
        try:
            info = FileOfferInfo("127.0.0.1:5000", "notes.txt", 5, transfer=7)
            asking = asyncio.ensure_future(files.ask(info))
            while not sent:  # the question reaches the page
                await asyncio.sleep(0)
            asking.cancel()  # the host withdrew the offer
            with contextlib.suppress(asyncio.CancelledError):
                await asking
            files.not_saved(7, "notes.txt", 5, WITHDRAWN)
            return sent
        finally:
            files.close()

    sent = asyncio.run(main())
    (question,) = [m for m in sent if m["t"] == "file_offer"]
    (failed,) = [m for m in sent if m["t"] == "file_failed"]
    assert failed.get("offer") == question["id"]


