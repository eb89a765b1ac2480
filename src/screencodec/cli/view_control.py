"""``/control`` in ``screencodec view``'s terminal: ask the host's user for
control of their mouse and keyboard, as ``--control`` does at the start.

walk52: once the customer took control back (their ``/view``), the
terminal had no way to ask again (the web page has its button): ``/type``
told an agent who had started with ``--control`` to start with it, and
only leaving and joining again (the customer asked once more to let them
see) would do. The question may stay open for up to its timeout, so the
request runs in a task of its own beside the command loop, and its answer
is told in ``--control``'s words when it comes.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

from screencodec.cli.terminal import tell
from screencodec.cli.view_status import CONTROL_ASKED, NO_INPUT_HERE, _control_answer
from screencodec.errors import ScreencodecError
from screencodec.transport.session.permissions import CONTROL

if TYPE_CHECKING:
    from screencodec.transport.session.viewer import Viewer

__all__ = ["ALREADY_ASKED", "ALREADY_HELD", "ASK_AGAIN", "END_WAIT", "LATE_GRANT", "LOST_ASKING",
           "AskControl", "Unanswered", "control_wait"]

#: Said after the host's user took control back (in brackets).
ASK_AGAIN = "/control asks for it again"
#: Seconds a request left without an answer waits before saying so: the
#: session's end (or a lost link's move to a new viewer) cancels it first.
END_WAIT = 1.0
#: A request the lost link took with it.
LOST_ASKING = ("control not granted: the connection was lost before the host's user answered"
               " (/control asks again once back)")  # fmt: skip
#: ``/control`` while the agent holds control.
ALREADY_HELD = "(you hold control already: /type TEXT and /key NAME type on the host's keyboard)"
#: ``/control`` while a request (this one's, or ``--control``'s) waits for its answer.
ALREADY_ASKED = "(asked already: waiting for the host's user's answer)"


#: Told when control comes after its request was told unanswered (the
#: viewer waits 60 s; the host's question may wait longer: --consent-timeout,
#: or behind another question).
LATE_GRANT = "control granted: the host's user said yes after all"


def control_wait() -> float:
    """Seconds a request for control (``--control``'s, ``/control``'s) waits
    for the host's user's answer before "control not granted: the host did
    not answer": the viewer's 60 s; $SCREENCODEC_TEST_CONTROL_WAIT (tests
    only: one that waits for the line). Read when asked, not at import, so
    a view the tests' zygote forks takes it without a fresh start."""
    return float(os.environ.get("SCREENCODEC_TEST_CONTROL_WAIT", "60"))


class Unanswered:
    """Whether a request for control was told "the host did not answer"
    and nothing came since (over the session's links): a grant that comes
    then is told (walk52: the customer said y at 75 s of a 120 s question,
    their terminal said the agent could now use their mouse and keyboard,
    and the agent's said nothing, after "the host did not answer" at 60 s)."""

    def __init__(self) -> None:
        self.told = False

    def granted(self) -> None:
        """CONTROL came: told by :data:`LATE_GRANT` if its request was told
        unanswered (a request's own grant is told by its own line)."""
        if self.told:
            self.told = False
            tell(LATE_GRANT)
            tell(NO_INPUT_HERE)


class AskControl:
    """The ``/control`` request under way, if any (one at a time: the
    viewer takes one permission request at a time)."""

    def __init__(self, unanswered: Unanswered | None = None) -> None:
        self._task: asyncio.Task[None] | None = None
        self.unanswered = unanswered or Unanswered()

    def start(self, viewer: Viewer) -> None:
        if CONTROL in viewer.level:
            tell(ALREADY_HELD)
        elif self._task is not None and not self._task.done():
            tell(ALREADY_ASKED)
        else:
            self._task = asyncio.ensure_future(self._ask(viewer))

    async def _ask(self, viewer: Viewer) -> None:
        asked = asyncio.ensure_future(viewer.request(CONTROL, control_wait()))
        # The request's first step runs before this one resumes: it raises
        # at once while --control's own request waits for its answer.
        await asyncio.sleep(0)
        if asked.done() and isinstance(asked.exception(), RuntimeError):
            tell(ALREADY_ASKED)
            return
        tell(CONTROL_ASKED)
        try:
            granted = await asked
        except (ScreencodecError, OSError):
            return  # the session is ending, or its link broke: its end is told
        finally:
            asked.cancel()  # this task cancelled (the session ends): the request too
        if not granted and viewer.refusal is None:
            # No answer: the viewer answers a pending request so as its
            # session ends or its link is lost. Then this task is cancelled
            # (the conversation stops, or moves to the resumed viewer)
            # before it is over; only a question timed out is told so
            # (walk52: "the host did not answer" before the end line).
            await asyncio.sleep(END_WAIT)
            if viewer.link_lost:
                tell(LOST_ASKING)
                return
        tell(_control_answer(granted, viewer.refusal))
        self.unanswered.told = not granted and viewer.refusal is None
        if granted:
            tell(NO_INPUT_HERE)

    def cancel(self) -> None:
        """Stop waiting (the session ends, or its link is taken up again by
        a new viewer: the host forgets the question with the old link)."""
        if self._task is not None:
            self._task.cancel()
