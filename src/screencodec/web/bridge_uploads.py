"""Uploads in the web bridge (:mod:`screencodec.web.bridge`): files the agent sends
from the page to the host, and what each one's row on the page says.

The page copies a file here (:class:`~screencodec.web.files.PageFiles`); the
viewer's sender offers it to the host's user and sends it. Each row says how
its upload went or ended: declined and why, sent, delivered, cut short by a
lost link or the session's end (with how much of it had arrived, from its
FileCut), or cancelled by the agent on its row or by the agent leaving.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from screencodec.errors import ProtocolError, SessionClosedError
from screencodec.transport.channel.display import amount, safe_text
from screencodec.transport.session.events import CUT_LOST, FileCut
from screencodec.transport.session.sidechannels import (
    BEFORE_AN_ANSWER,
    NOT_READ,
    REFUSED_UNASKED,
    STOPPED_THERE_WHY,
    USER_SAID_NO,
    FileSender,
)
from screencodec.transport.session.viewer import Viewer
from screencodec.web.bridge_base import BridgeBase
from screencodec.web.bridge_words import (
    LINK_DOWN,
    LINK_LOST,
    TAKES_NONE,
    UPLOAD_CANCELLED,
    UPLOAD_ENDED,
    UPLOAD_LEFT,
    UPLOAD_LEFT_UNANSWERED,
    UPLOAD_STOPPED,
    UPLOAD_STOPPED_BY,
    UPLOAD_STOPPED_BY_UNANSWERED,
    UPLOAD_WITHDRAWN,
    _how_much,
)
from screencodec.web.schema import fit

__all__ = ["BridgeUploads"]


class BridgeUploads(BridgeBase):
    """The bridge's uploads: offered, sent, cancelled, and ended."""

    async def uploads_over(self, timeout: float = 2.0) -> None:
        """Once the session is over (:meth:`settle`), until each upload under
        way has said how it ended (its send fails or is answered at once on
        the closed channel), or ``timeout`` passed: :meth:`close` cancels
        what is left, and a row it cancelled kept "sending N%" for good
        (walk34, after the agent's Leave mid-file)."""
        if self._uploads:
            await asyncio.wait(set(self._uploads), timeout=timeout)
        # Those still under way are cancelled by close(): their rows say
        # now that the session's end cut them (cancel36: they kept their
        # last state, "sending N%", for good), before the page is drained.
        for tid, task in list(self._upload_tasks.items()):
            if not task.done() and tid not in self._told_ended:
                self._upload_ended(tid)

    def _upload_over(self, tid: int, task: asyncio.Task[Any]) -> None:
        if self._upload_tasks.get(tid) is task:
            del self._upload_tasks[tid]
        self._cancelling.discard(tid)

    def _cancel_upload(self, tid: int) -> None:
        """The agent's Cancel on upload ``tid``'s row: the page stopped
        copying it (what came of it here is removed), or its send is
        cancelled: its sender withdraws it at the host, which closes its
        question or removes what it has of it (files36's STOPPED). An
        upload already over: nothing (its row says how it ended)."""
        if self.files is not None and self.files.cancel(tid):
            self._upload_failed(tid, UPLOAD_CANCELLED, "cancelled")
            return
        task = self._upload_tasks.get(tid)
        if task is not None and not task.done() and not self._settled:
            self._cancelling.add(tid)
            task.cancel()

    def _upload_failed(self, tid: int, why: str, state: str = "failed") -> None:
        self._unsettled.pop(tid, None)
        self.send({"t": "file_progress", "id": tid, "state": state, "text": fit(why, 200)})

    def _upload_ended(self, tid: int) -> None:
        """An upload the session's end (:meth:`settle`) cut short: with how
        much of it had arrived, and that none of it was kept, once its
        FileCut is known (:meth:`_file_cut`), as the terminal says it
        (walk35: the row read only "failed: the session ended")."""
        self._told_ended.add(tid)
        cut = self._cuts.get(tid)
        if self.left:
            left = UPLOAD_LEFT if self.stopped_by is None else UPLOAD_STOPPED_BY.format(
                self.stopped_by)  # a signal stopped the program: not the agent's leaving
            why = left if cut is None else f"{left} ({_how_much(cut)})"
            self._upload_failed(tid, why, "cancelled")
        elif cut is None:
            self._upload_failed(tid, UPLOAD_ENDED)
        else:
            host_ended = self.viewer is not None and self.viewer.host_bye is not None
            end = "the host ended the session" if host_ended else UPLOAD_ENDED
            self._upload_failed(tid, f"{end}, {_how_much(cut)}")

    def _file_cut(self, ev: FileCut, sender: FileSender) -> None:
        """An upload's bytes stopped before its end (the FileCut of
        ``sender``, the viewer's, matched to the page's upload by its
        transfer number). A lost link's cut keeps the link's words (the
        session may go on); an ended session's row, if already told, is
        told again with the amounts."""
        tid = self._streaming.pop((sender, ev.transfer), None)
        if tid is not None and tid in self._stopped_sending:  # the agent's Cancel
            self._stopped_sending.discard(tid)
            self._upload_failed(tid, f"{UPLOAD_STOPPED} ({_how_much(ev)})", "cancelled")
            return
        if tid is None or ev.cause == CUT_LOST:
            return
        self._cuts[tid] = ev
        if tid in self._told_ended:
            self._upload_ended(tid)

    async def _send_file(self, viewer: Viewer, tid: int, path: Path, name: str) -> None:
        if self.link_down:  # nothing to offer it to: the old channel is closed
            self._upload_failed(tid, LINK_DOWN)
            path.unlink(missing_ok=True)
            return
        row: dict[str, Any] = {"t": "file_progress", "id": tid, "state": "offered"}
        if viewer.sender.peer_takes_none:  # said up front or by an offer (files41)
            row["text"] = TAKES_NONE
        self.send(row)
        shown = -1  # the percentage the page shows

        def sending(sent: int, size: int) -> None:
            # The host said yes: the row says so, and how much has gone
            # (each whole percent once), not that it waits for the user.
            nonlocal shown
            went[:] = [sent, size]
            pct = 100 * sent // size if size else 100
            if pct != shown:
                shown = pct
                self.send({"t": "file_progress", "id": tid, "state": "sending", "pct": pct})

        sender = viewer.sender
        offered: list[tuple[FileSender, int]] = []  # its key in _streaming, once numbered
        went = [-1, 0]  # bytes handed to the link, of size: -1 before the host's yes

        def numbered(transfer: int) -> None:
            offered.append((sender, transfer))
            self._streaming[offered[0]] = tid

        try:
            outcome = await sender.send(path, name, on_sending=sending, on_offered=numbered)
        except asyncio.CancelledError:
            if tid in self._cancelling:  # the agent's Cancel (_cancel_upload)
                self._cancelled(tid, offered, went)
                return
            if self._settled and tid not in self._told_ended:
                self._upload_ended(tid)  # the bridge closed with it under way
            raise
        except SessionClosedError:
            # A lost link or the session's end: told when known (reconnecting,
            # settle), not guessed here.
            if self._settled:
                self._upload_ended(tid)
            elif self.link_down:
                self._upload_failed(tid, LINK_DOWN)
            else:
                self._unsettled[tid] = None
        except (ProtocolError, OSError) as exc:
            # The file's copy here went away (OSError), or the host broke
            # the file protocol: its words, not an errno's repr.
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self._not_streaming(offered)
            self._upload_failed(tid, f"not sent: {safe_text(why, 150).lower()}")
        else:
            self._not_streaming(offered)  # not cut (kept after a SessionClosedError)
            # A refusal: the host's FileAccept does not say whether its user
            # was asked (no download directory refuses unasked), so the page
            # says "not accepted by the host", never "declined by the user";
            # a host that says why it refused unasked is shown its reason.
            # "sent": to a host of the previous version, which does not say
            # whether it saved it (docs/transport.md "File results").
            state = {"delivered": "delivered", "unconfirmed": "sent",
                     "failed": "failed"}.get(outcome.outcome, "declined")  # fmt: skip
            msg = {"t": "file_progress", "id": tid, "state": state}
            if state == "delivered" and outcome.saved_as and outcome.saved_as != outcome.name:
                # The host made its name safe or found it taken (walk45): the
                # page says what it was saved as (text, as every row's text).
                msg["text"] = fit(outcome.saved_as, 200)
            elif outcome.outcome == "failed" and outcome.why.startswith(NOT_READ):
                # This side's copy went after the yes, not the host's failure
                # (as the terminals say it: cli/view_commands.py _sent_words).
                msg["text"] = fit(f"not sent whole: it {outcome.why}", 200)
            elif outcome.outcome == "failed" and outcome.why == STOPPED_THERE_WHY:
                # The host's user stopped receiving it (rstop36): not a failure there.
                gone = f"{amount(max(went[0], 0))} of {amount(went[1])} had been sent"
                msg["text"] = (f"the user stopped receiving it ({gone}); nothing of it was"
                               " kept there")  # fmt: skip
            elif outcome.outcome == "failed":
                msg["text"] = fit(f"the host could not save it: {outcome.why}", 200)
            elif outcome.outcome == "unconfirmed" and outcome.why:
                # It all went, and the session ended (or its link broke)
                # before the host said whether it saved it.
                end = LINK_LOST if viewer.link_lost else "the session ended"
                msg["text"] = f"{end} before the host said whether it saved it"
            elif state == "declined" and self.left and outcome.why.endswith(BEFORE_AN_ANSWER):
                # The agent's own Leave withdrew the offer: no refusal.
                msg.update(state="cancelled", text=UPLOAD_LEFT_UNANSWERED if self.stopped_by is None
                           else UPLOAD_STOPPED_BY_UNANSWERED.format(self.stopped_by))  # fmt: skip
            elif state == "declined" and viewer.link_lost and outcome.why.endswith(
                    BEFORE_AN_ANSWER):  # fmt: skip
                # The link broke while the host's user was asked: neither a
                # refusal nor the session's end (it may resume), as the
                # terminal says it (cli/view_commands.py _sent_words).
                msg.update(state="failed", text=LINK_DOWN)
            elif state == "declined" and outcome.why.startswith(REFUSED_UNASKED):
                msg["text"] = fit(outcome.why[len(REFUSED_UNASKED) :], 200)  # its code's words
            elif state == "declined" and outcome.why:
                msg["text"] = fit(outcome.why, 200)  # "no answer in time"
            elif state == "declined" and viewer.host_gives_reasons:  # no code: its user's no
                msg["text"] = USER_SAID_NO
            self.send(msg)
        finally:
            path.unlink(missing_ok=True)

    def _cancelled(self, tid: int, offered: list[tuple[FileSender, int]], went: list[int]
                   ) -> None:  # fmt: skip
        """Upload ``tid``'s send was cancelled by the agent: before the
        host's answer (its question closes there), or under way: said now
        with what went, then with what had arrived once its FileCut comes
        (:meth:`_file_cut`)."""
        sent, size = went
        if sent < 0:
            self._not_streaming(offered)
            self._upload_failed(tid, UPLOAD_WITHDRAWN, "cancelled")
        elif sent >= size:  # all of it went: the host may have it whole (no FileCut)
            self._not_streaming(offered)
            self._upload_failed(tid, f"{UPLOAD_STOPPED}, but all of it had been sent: the host"
                                " may have saved it", "cancelled")  # fmt: skip
        else:
            self._stopped_sending.add(tid)
            self._upload_failed(
                tid,
                f"{UPLOAD_STOPPED} ({amount(sent)} of {amount(size)} had"
                " been sent; nothing of it was kept there)",
                "cancelled",
            )

    def _not_streaming(self, offered: list[tuple[FileSender, int]]) -> None:
        """An upload's send ended with an outcome or an error: no FileCut
        of it is waited for (:meth:`_file_cut`)."""
        for key in offered:
            self._streaming.pop(key, None)
