"""The lines ``screencodec view`` prints of its own accord about the
session's state, not answering anything typed: the ``[view]`` line
(:func:`_status`, counted over the session's links: :class:`_Earlier`),
the host's silence and its end (:class:`_Silence`), and control coming
and going (``--control``'s answer, the host taking it back, the page
giving it back: :func:`_tell_control`, :func:`_control_answer`).

Apart from the session loop because each is a small state machine of its
own, judged by time or by the host's messages, and the loop only asks it
for its line; it imports nothing of the other view modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec.cli.terminal import StatusLines, rtt_band, rtt_shown, tell
from screencodec.transport.channel.display import safe_text
from screencodec.transport.session import messages as m
from screencodec.transport.session.input_gate import ignored_words
from screencodec.transport.session.permissions import CONTROL

if TYPE_CHECKING:
    from screencodec.transport.session.refusal import Refusal
    from screencodec.transport.session.viewer import Viewer
    from screencodec.web.bridge import WebBridge

__all__ = [
    "CONTROL_ASKED",
    "FRESH_AFTER",
    "FRESH_UPDATES",
    "GIVEN_BACK",
    "NO_INPUT_HERE",
    "PROBED_SILENT_AFTER",
    "SILENT_AFTER",
    "STATS_WAIT",
    "TAKEN_BACK",
    "_OVERSLEPT",
    "_SILENCE_CHECK",
    "_Earlier",
    "_RanAgain",
    "_Silence",
    "_control_answer",
    "_status",
    "_tell_control",
]


#: Told with a grant of CONTROL in the terminal, which types but has no
#: mouse: how to use what the host's user said yes to (walk43: "this
#: terminal sends no input", of a control the user had just been asked for).
NO_INPUT_HERE = ("(type on the host's keyboard with /type TEXT and /key NAME (/key Enter);"
                 " for their mouse, run screencodec view with --web)")
#: Told once when ``--control`` is asked for, before the answer (the host's
#: user may take up to its question's timeout): walk35 saw nothing printed
#: meanwhile, a question on the host's screen not told from a hung view.
CONTROL_ASKED = "asked for control: waiting for the host's user's answer..."
#: Told when the host takes CONTROL back (its user's /view, its revoke).
TAKEN_BACK = "the host's user took back control: you can only watch now"
#: Told when the agent's page gave CONTROL back (its button, or the page went away).
GIVEN_BACK = "you gave control back: you can only watch now"


def _tell_control(viewer: Viewer, bridge: WebBridge) -> None:
    """With ``--web``: print the terminal viewer's lines when CONTROL comes
    and goes, whoever asked for it (``--control`` or the page's button): the
    host's grant, its refusal (once the request's answer is known: by the
    host's user, or by the host unasked with its reason, or no answer), its
    taking control back, or the page's own give-back (the bridge holds
    control back until the host's answer: read before its own
    ``on_message``, which this wraps, clears it)."""
    page = viewer.on_message
    had = CONTROL in viewer.level
    # A refusal is known only when the bridge's request returns (Viewer.refusal
    # matches it to the host's answer and notice); a grant is told by its
    # message below, as the terminal viewer tells both.
    bridge.on_refused = lambda refusal: tell(_control_answer(False, refusal))

    def seen(msg: m.Message) -> None:
        nonlocal had
        given_back = bridge.held_back  # the bridge clears it on the host's answer
        if page is not None:
            page(msg)
        has = CONTROL in viewer.level  # the viewer applied the message before this call
        if isinstance(msg, m.PermissionGrant) and has and not had:
            tell(_control_answer(True, None))
        elif isinstance(msg, m.PermissionRevoke) and had and not has:
            tell(GIVEN_BACK if given_back else TAKEN_BACK)
        had = has

    viewer.on_message = seen


def _control_answer(granted: bool, refusal: Refusal | None) -> str:
    """The answer to ``--control`` in words (``refusal``: the viewer's)."""
    if granted:
        return "control granted"
    if refusal is None:
        return "control not granted: the host did not answer"
    if refusal.by_user:
        # Its no and its question's timeout are one answer on the wire
        # (walk43: "refused" read as a no, of a question left unanswered).
        return "control refused by the host's user (they said no, or did not answer in time)"
    return (f"control refused (the host's user was not asked): "
            f"{safe_text(refusal.reason, 200)}")  # fmt: skip


#: Seconds without a word from the host after which the view says the link
#: is silent, as the page does (web/bridge.py): a host that answers the
#: channel's probes is heard from within a round trip of 2 s of silence
#: (Timeouts.probe); one of an earlier version only sends its Stats, at
#: least every 10 s.
PROBED_SILENT_AFTER = 3.0
SILENT_AFTER = 12.0
#: How often the silence (and the [view] line) is looked at (s).
_SILENCE_CHECK = 0.5
#: A look at the silence this late (s) was held up by the program not
#: running, not by the host (channel/sealed.py's watchdog judges alike).
_OVERSLEPT = 2.0


class _Silence:
    """One line when the host has said nothing for :data:`PROBED_SILENT_AFTER`
    seconds (:data:`SILENT_AFTER` when it answers no probe: the channel's
    ``last_heard`` and ``answers_probes``, transport/channel/sealed.py), and
    one when it is heard from again; none while the link is being taken up
    again (said otherwise). State: :attr:`told`, the ``last_heard`` of the
    silence told (None: none told)."""

    def __init__(self) -> None:
        self.told: float | None = None

    def line(self, viewer: Viewer, away: bool, now: float) -> str | None:
        channel = viewer.channel
        heard = getattr(channel, "last_heard", None)
        if away or heard is None or getattr(channel, "closed", False):
            self.told = None  # the reconnection's lines say what happens
            return None
        if self.told is not None:
            if heard <= self.told:
                return None
            quiet, self.told = heard - self.told, None
            return f"(the host is heard from again after {quiet:.0f} s of silence)"
        probed = bool(getattr(channel, "answers_probes", False))
        quiet = now - heard
        if quiet < (PROBED_SILENT_AFTER if probed else SILENT_AFTER):
            return None
        self.told = heard
        # A host that answered probes and stays silent is taken for lost
        # (Timeouts.unanswered, 10 s) and the view reconnects.
        then = "; if it goes on, the view reconnects" if probed else ""
        return f"(no word from the host for {quiet:.0f} s: the picture may not be live{then})"


#: Seconds a resumed link's ``[view]`` line waits for the host's figures
#: once it has decoded (the host sends them each second when they change).
STATS_WAIT = 3.0


class _Earlier:
    """What the session's earlier links decoded (updates, decode errors):
    the ``[view]`` line counts over the session, as the picture shown goes
    on from one link to the next (a resume on the kept picture). It said
    ``decoded 0`` of the kept picture when a resumed link had decoded
    nothing yet."""

    def __init__(self) -> None:
        self.links = 0
        self.decoded = 0
        self.errors = 0
        #: When the present (resumed) link's line was first held for the
        #: host's figures (:data:`STATS_WAIT`).
        self.bare_since: float | None = None

    def add(self, lost: Viewer) -> None:
        """``lost``'s link is over; the session goes on on another."""
        self.links += 1
        self.bare_since = None
        self.decoded += lost.decoded
        self.errors += lost.decode_errors


#: Seconds after the view runs again (``fg`` after Ctrl-Z, ``kill -CONT``)
#: before the host's figures are of the time it runs: the host measures its
#: rate over the last second (session/stats.StatsMeter's window) and sends
#: it each second (Config.stats_period) when it moved.
FRESH_AFTER = 2.0
#: Updates decoded since the view runs again before the host's figures are
#: of the time it runs, besides :data:`FRESH_AFTER`: the round trip the host
#: tells is smoothed over its receipts (session/flow.py srtt, 1/8 a
#: receipt), and the stop's (seconds) weighs 0.875 ** n after n more: 48
#: leave 0.2 % of it (20 ms of a 10 s stop). At 60 updates a second the 2 s
#: were enough; a host that sends few (live54: the synthetic desktop at its
#: 30 fps, a real screen where little changes) still told "rtt 455 ms" of a
#: loopback 2 s after ``fg``.
FRESH_UPDATES = 48
#: Seconds after which figures that did not come again are shown as they
#: are (the host sends them at least every 10 s: stats.REFRESH_PERIODS).
_FRESH_AT_MOST = 12.0


class _RanAgain:
    """Whether the host's figures (``Viewer.host_stats``) were measured while
    this program did not run (stopped by Ctrl-Z, ``kill -STOP``, a frozen
    machine: the ticker woke late, :meth:`stopped`): the host's rate and
    round trip over the time its updates waited unread, and the ones from
    before. words51: after Ctrl-Z and ``fg`` the first ``[view]`` line said
    "7 fps rtt 3055 ms" of a link of 54 fps and 1 ms (the round trip's jump
    made it due). Figures that came after :data:`FRESH_AFTER` from the run
    again and after :data:`FRESH_UPDATES` updates decoded since are fresh;
    any after :data:`_FRESH_AT_MOST`. State: :attr:`since` (None: fresh),
    the updates decoded then."""

    def __init__(self) -> None:
        self.since: float | None = None
        self._decoded = 0  # Viewer.decoded when it ran again
        self._seen: object = None  # the figures there when last looked at, while stale

    def stopped(self, now: float, decoded: int = 0) -> None:
        """The program runs again at ``now`` after not running, its viewer
        having decoded ``decoded`` updates."""
        self.since, self._decoded = now, decoded

    def stale(self, stats: object, now: float, decoded: int = 0) -> bool:
        """Whether ``stats``, the figures at ``now`` (``decoded`` updates
        decoded so far), may be of the stop."""
        if self.since is None:
            return False
        if decoded < self._decoded:  # another link's viewer: counted from 0
            self._decoded = 0
        early = now - self.since < FRESH_AFTER or decoded - self._decoded < FRESH_UPDATES
        if early and now - self.since < _FRESH_AT_MOST:
            self._seen = stats  # come meanwhile: measured (partly) over the stop
            return True
        if stats is not self._seen or now - self.since >= _FRESH_AT_MOST:
            self.since = self._seen = None
            return False
        return True


def _status(viewer: Viewer, status: StatusLines, now: float,
            earlier: _Earlier | None = None, *, away: bool = False,
            ran_again: _RanAgain | None = None) -> str | None:  # fmt: skip
    """The ``[view]`` line, or None when it is not due: printed once a
    picture is shown, then when its size changes, decode errors come, the
    host's figures arrive, the link gets slow or fast again or the picture
    starts or stops changing (at once: StatusLines.due; and in a log
    once a minute besides): one line a second drowned out the host's chat.
    On a terminal it is short (errors only when there are some) and cut to
    the window's width; a log keeps every figure. The counts are over the
    session (``earlier``: its links before this one); a resumed link that
    shows the kept picture and has decoded nothing yet says so. None while
    the link is being taken up again (``away``): the lost link's figures
    read as a live picture after "reconnecting" (walk35); a change held
    back meanwhile is printed once back. Nor while the host's figures may
    be of a time this program did not run (``ran_again``): a change is
    printed once they are fresh."""
    fb = viewer.framebuffer
    if fb is None or away:
        return None  # nothing shown yet: "connected ..., granted" said where it is
    if ran_again is not None and ran_again.stale(viewer.host_stats, now, viewer.decoded):
        return None
    earlier = earlier or _Earlier()
    decoded = earlier.decoded + viewer.decoded
    errors = earlier.errors + viewer.decode_errors
    waiting = earlier.links > 0 and viewer.decoded == viewer.decode_errors == 0
    s = viewer.host_stats
    size = f"{fb.shape[1]}x{fb.shape[0]}"
    rtt = None if s is None else rtt_band(s.rtt_us / 1000)
    fps = None if s is None else s.fps_milli / 1000
    # The picture kept from before the cut is what is shown until then.
    note = ", resumed: waiting for the host's first update" if waiting else ""
    if earlier.links > 0 and not waiting and s is None:
        # A resumed link decodes before the host's first figures on it come
        # (each stats period): the line is held for them (walk45 read
        # "[view] 1280x720 decoded 31", then the same with its figures),
        # and said bare only if none come within STATS_WAIT, with why.
        if earlier.bare_since is None:
            earlier.bare_since = now
        if now - earlier.bare_since < STATS_WAIT:
            return None
        note = ", resumed: no figures from the host yet"
    ignored = viewer.input_ignored
    # The link is news too (earlier.links): a resumed link whose first
    # update came before a tick looked ("waiting" never due) read, with its
    # figures, as the lost link's last line, and was not said (flake47b:
    # no line after "back in the session" for 60 s in a log).
    news = (size, errors, rtt, waiting, ignored, earlier.links)
    if not status.due("view", news, now, fps):
        return None
    figures = "" if s is None else (f" {s.fps_milli / 1000:.1f} fps {s.kbps} kbit/s"
                                    f"{rtt_shown(s.rtt_us / 1000, 1)}")
    # input46: the host's counts, in the words its status line says them.
    words = ignored_words(ignored or ())
    note += f", your input ignored: {words}" if words else ""
    if not status.on_terminal:
        return f"[view] {size} decoded {decoded} errors {errors}{figures}{note}"
    if s is not None:  # the round trip before the rate: what a narrow window keeps
        rate = "still," if status.still("view") else f"{s.fps_milli / 1000:.0f} fps"
        figures = f": {rate}{rtt_shown(s.rtt_us / 1000)} {s.kbps} kbit/s"
    shown = f" errors {errors}" if errors else ""
    return status.fit(f"[view] {size} decoded {decoded}{shown}{figures}{note}")
