"""File transfer for the web viewer: uploads from the page, offers from the host.

Upload (agent -> host): the page announces a file (``file_offer``), streams
it in binary frames (``id u32 big-endian | bytes``) into a private temporary
file, and says ``file_done``; then the viewer offers it to the host's user,
and the page is told each step (``file_progress``). Every declared size,
count and offset is checked; a page that oversteps is a protocol error.

Download (host -> agent): the host's offer is put to the agent in the page
(``file_offer`` / ``file_answer``); an accepted file lands in the download
directory and the page gets a link to it (``file_received``).

Owned by the bridge on one event loop.
"""

from __future__ import annotations

import asyncio
import os
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from screencodec.transport.channel.display import safe_text
from screencodec.transport.session.sidechannels import NOT_SAVED, FileOfferInfo, write_all
from screencodec.web.schema import PageProtocolError, fit

__all__ = ["MAX_UPLOAD", "NOT_KEPT", "PageFiles"]

MAX_UPLOAD = 1 << 30
_MAX_OPEN_UPLOADS = 4
_MAX_QUESTIONS = 8
_MAX_ACCEPTED = 64
_ID = struct.Struct(">I")
#: A question closes this much before the viewer's FileReceiver would stop
#: waiting for it (its timer comes first on the loop): the page's row says so.
_CLOSE_EARLIER = 0.25
#: The row of a file received into ``view --web``'s temporary folder and never
#: fetched by the page, as the folder goes with the run (walk42: its Save
#: link stayed, and fetched nothing).
NOT_KEPT = ("not kept: the session ended before you saved it from here, and its copy in the"
            " viewer's temporary folder was removed")


@dataclass
class _Upload:
    name: str
    size: int
    path: Path
    fd: int
    received: int = 0
    failed: bool = False  #: it could not be stored: its other frames are dropped


class PageFiles:
    """Uploads in progress, questions the page has not answered, files it may fetch.

    ``send(obj)`` queues a JSON message to the page; ``served`` is the web
    server's table of downloadable files (number -> path).
    """

    def __init__(self, send: Callable[[dict[str, Any]], None], served: dict[int, Path]) -> None:
        self._send = send
        self.served = served
        self._tmp = tempfile.TemporaryDirectory(prefix="screencodec-web-")
        #: ``view --web --download-dir DIR``: each file from the host is kept
        #: in DIR, and its row says so (walk44: "received [Save]" alone, the
        #: file already in DIR); None: a folder removed at the end.
        self.kept_in: Path | None = None
        self._uploads: dict[int, _Upload] = {}
        #: the page's open questions: their answers, and the offers they ask about
        self._questions: dict[int, tuple[asyncio.Future[bool], FileOfferInfo]] = {}
        self._next_question = 1
        #: the host's transfer number -> the page's question about it, for the
        #: files accepted and not received yet, and the questions the host
        #: withdrew while the page asked them (their not_saved ends the row;
        #: the oldest forgotten past _MAX_ACCEPTED: a transfer the host broke
        #: off never ends)
        self._accepted: dict[int, int] = {}
        #: the offers whose questions the viewer closed before the agent
        #: answered, by the host's transfer number: the host withdrew the offer
        #: (its not_saved ends the row), or the viewer's session is over
        #: (session_over ends it)
        self._unanswered: dict[int, FileOfferInfo] = {}
        self._failures = 0  #: host files not saved here, numbered for the page
        #: each received file's number -> the question it answered (None: none
        #: known), its name and size: its row, should the file not be kept
        self._received: dict[int, tuple[int | None, str, int]] = {}
        #: How long the viewer's FileReceiver waits for an answer (the bridge
        #: sets it from the viewer): a question still open then is closed here
        #: first, its row told, instead of being left with buttons that
        #: answer nothing.
        self.timeout = 30.0

    # -- uploads -----------------------------------------------------------------

    def offer(self, msg: dict[str, Any]) -> None:
        tid = msg["id"]
        if tid in self._uploads or len(self._uploads) >= _MAX_OPEN_UPLOADS:
            raise PageProtocolError("too many uploads, or an id in use")
        if msg["size"] > MAX_UPLOAD:  # the page does not offer one (app/ui.js MAX_UPLOAD)
            limit = f"the page sends files of up to {MAX_UPLOAD >> 30} GiB"
            self._send({"t": "file_progress", "id": tid, "state": "failed",
                        "text": f"too large: {limit}"})  # fmt: skip
            raise PageProtocolError(f"upload larger than the limit: {limit}")
        path = Path(self._tmp.name) / f"upload-{tid}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        self._uploads[tid] = _Upload(msg["name"], msg["size"], path, fd)

    def chunk(self, frame: bytes) -> None:
        if len(frame) < _ID.size:
            raise PageProtocolError("binary frame without a transfer id")
        (tid,) = _ID.unpack_from(frame)
        up = self._uploads.get(tid)
        if up is None:
            raise PageProtocolError(f"data for upload {tid}, which was not offered")
        data = memoryview(frame)[_ID.size :]
        if up.received + len(data) > up.size:
            raise PageProtocolError("upload longer than declared")
        up.received += len(data)
        if up.failed:
            return
        try:
            write_all(up.fd, data)
        except OSError as exc:  # the disk is full, the file too large for it...
            up.failed = True
            os.close(up.fd)
            up.path.unlink(missing_ok=True)
            self._send({"t": "file_progress", "id": tid, "state": "failed",
                        "text": fit(f"could not be stored: {exc.strerror or exc}", 200)})

    def done(self, tid: int) -> tuple[Path, str] | None:
        """The page finished upload ``tid``: its file and name, ready to
        offer, or None if it could not be stored (the page was told)."""
        up = self._uploads.pop(tid, None)
        if up is None:
            raise PageProtocolError(f"upload {tid} was not offered")
        if up.failed:
            return None
        os.close(up.fd)
        if up.received != up.size:
            raise PageProtocolError("upload shorter than declared")
        return up.path, up.name

    def cancel(self, tid: int) -> bool:
        """The agent cancelled upload ``tid`` while the page still copied it
        (it sends no more of it): what came of it here is removed. False if
        it is not being copied (its send may be under way: the bridge's)."""
        up = self._uploads.pop(tid, None)
        if up is None:
            return False
        if not up.failed:
            os.close(up.fd)
            up.path.unlink(missing_ok=True)
        return True

    def page_gone(self) -> list[int]:
        """The page's socket closed (reloaded, closed): the copies it had
        under way can get no more of their file (walk37: they stayed open,
        counted among the page's _MAX_OPEN_UPLOADS, their rows "uploading"
        for good). Each is removed as a cancelled one is; returns their ids."""
        gone = list(self._uploads)
        for tid in gone:
            self.cancel(tid)
        return gone

    # -- offers from the host ------------------------------------------------------

    async def ask(self, info: FileOfferInfo) -> bool:
        """The host offers a file: ask the agent in the page (the viewer's
        FileReceiver times the question out and treats that as no)."""
        if len(self._questions) >= _MAX_QUESTIONS:
            return False
        qid = self._next_question
        self._next_question += 1
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[bool] = loop.create_future()
        self._questions[qid] = (fut, info)
        self._send({"t": "file_offer", "id": qid, "name": info.name[:255], "size": info.size})
        window = info.window(self.timeout)
        expired = False

        def expire() -> None:
            nonlocal expired
            if not fut.done():
                expired = True
                fut.set_result(False)

        timer = None if window is None else loop.call_later(
            max(window - _CLOSE_EARLIER, 0.0), expire)  # fmt: skip
        try:
            accepted = await fut
        except asyncio.CancelledError:
            # The host withdrew the offer (FileReceiver.withdraw cancels this
            # question): its FileRefused (not_saved) ends the page's row; or
            # the viewer's session is over (session_over ends it).
            if qid in self._questions:  # not ended by session_over already
                self._note_question(info.transfer, qid)
                self._unanswered[info.transfer] = info
                while len(self._unanswered) > _MAX_ACCEPTED:
                    del self._unanswered[next(iter(self._unanswered))]
            raise
        finally:
            self._questions.pop(qid, None)
            if timer is not None:
                timer.cancel()
        if expired:
            self._note_question(info.transfer, qid)
            self.not_saved(info.transfer, info.name, info.size,
                           f"not answered within {round(window or 0)} s")  # fmt: skip
            return False
        if accepted:
            self._note_question(info.transfer, qid)
        return accepted

    def _note_question(self, transfer: int, qid: int) -> None:
        self._accepted[transfer] = qid
        while len(self._accepted) > _MAX_ACCEPTED:
            del self._accepted[next(iter(self._accepted))]

    def transfer_of(self, qid: int) -> int | None:
        """The host's number for the file the agent accepted in question
        ``qid`` (its row's Cancel: rstop36), or None: not accepted, or its
        row ended (received, not saved) or forgotten."""
        return next((transfer for transfer, asked in self._accepted.items() if asked == qid),
                    None)  # fmt: skip

    def answer(self, qid: int, accept: bool) -> None:
        fut, info = self._questions.get(qid, (None, None))
        if fut is not None and not fut.done():  # a late answer is harmless
            fut.set_result(accept)
            if accept and info is not None:
                # Known as accepted now, not once ask() resumes: the row's
                # Cancel may come in the page's next message (files37: it
                # found no transfer, and the file came).
                self._note_question(info.transfer, qid)

    def received(self, path: Path, size: int, transfer: int) -> None:
        """The file of host transfer ``transfer`` is in: the page gets a link
        to it, and the question it answers (``offer``), whose row it ends."""
        n = len(self.served) + 1
        self.served[n] = path
        msg: dict[str, Any] = {"t": "file_received", "id": n, "name": path.name[:255],
                               "size": size}  # fmt: skip
        if self.kept_in is not None:  # the agent's own folder: the row says where it is
            msg["saved"] = fit(safe_text(path, 1000), 1000)
        offer = self._accepted.pop(transfer, None)
        if offer is not None:
            msg["offer"] = offer
        self._received[n] = (offer, path.name, size)
        self._send(msg)

    def not_kept(self, fetched: set[int]) -> list[tuple[str, int]]:
        """The files received that the page never fetched (``fetched``: the
        server's), as their folder is about to be removed: each row says so
        and loses its Save link. Returns their names and sizes."""
        lost = []
        for n, (offer, name, size) in self._received.items():
            if n in fetched:
                continue
            self._failures += 1
            msg = {"t": "file_failed", "id": self._failures, "name": fit(name, 255),
                   "size": size, "text": NOT_KEPT}  # fmt: skip
            if offer is not None:
                msg["offer"] = offer
            self._send(msg)
            lost.append((name, size))
        return lost

    def not_saved(self, transfer: int, name: str, size: int, why: str) -> None:
        """A file of the host's was refused here, or said yes to and then
        could not be saved (``why``, through safe_text already): the page
        shows it in its file list, on the row of the question it answers
        (``offer``) when there was one, as "not saved: WHY", or the why as
        it is when it says so already ("could not be saved: No space left
        on device"; it read "not saved: could not be saved: ...")."""
        self._unanswered.pop(transfer, None)
        self._failures += 1
        words = why if why.startswith(NOT_SAVED) else f"not saved: {why}"
        msg = {"t": "file_failed", "id": self._failures, "name": fit(name, 255),
               "size": size, "text": fit(words, 200)}  # fmt: skip
        offer = self._accepted.pop(transfer, None)
        if offer is not None:
            msg["offer"] = offer
        self._send(msg)

    def session_over(self, why: str) -> None:
        """The viewer's session is over (it ended, or its link was lost:
        told after the FileRefused of the offers its host withdrew): its
        questions the agent has not answered end their rows with ``why``,
        those still open as well (answered no: the answer would go nowhere).
        A question of the next viewer's asked before this is told (the host's
        user sent a file within the moment of a resume) is ended too."""
        for qid, (fut, info) in list(self._questions.items()):
            # A question whose task was cancelled (its future with it) has
            # not yet been noted by ask: it is ended here.
            if fut.cancelled() or not fut.done():
                if not fut.done():
                    fut.set_result(False)
                del self._questions[qid]
                self._note_question(info.transfer, qid)
                self._unanswered[info.transfer] = info
        for transfer, info in list(self._unanswered.items()):
            self.not_saved(transfer, info.name, info.size, why)

    def close(self) -> None:
        for up in self._uploads.values():
            if not up.failed:
                os.close(up.fd)
        self._uploads.clear()
        for fut, _ in self._questions.values():
            if not fut.done():
                fut.set_result(False)
        self._tmp.cleanup()
