"""Who had the input, as subtitles over an exported video (walk42).

An MP4 of a session shows the screen only: whose pointer moved and whose
keys typed was in the audit log (``export --log``) and the web player's
event list alone. :func:`export_srt` writes the same rows as SubRip cues on
the session's clock, so a player that shows ``OUT.srt`` beside ``OUT.mp4``
(VLC, mpv: same name) says it over the picture:

* each input interval: ``keyboard: agent 'Alice'`` or ``pointer: the local
  user``, from its start to its end (at least :data:`MIN_CUE` s, to be read);
* each grant and take-back of control, for :data:`NOTE_CUE` s.

Names come from the recording (a peer's words): passed through safe_text.
"""

from __future__ import annotations

from pathlib import Path

from screencodec.recording.chain import Chain
from screencodec.recording.reader import RecordingReader
from screencodec.transport.channel.display import safe_text

__all__ = ["MIN_CUE", "NOTE_CUE", "export_srt", "srt_cues"]

#: The shortest input cue (s): a click lasts a millisecond.
MIN_CUE = 1.0
#: How long a grant or take-back of control is shown (s).
NOTE_CUE = 3.0
#: A row time past this (s; a year) is not believed.
_LONGEST = 366 * 86400.0


def _agent(chain: Chain) -> str:
    who = chain.parts[-1].reader.meta().get("who")
    return f"agent {safe_text(who, 60)!r}" if isinstance(who, str) and who else "the agent"


def _seconds(value: object, default: float) -> float:
    """``value`` as a time on the session's clock, or ``default``: a row's
    ``start``/``end`` is the file's word (a string, null, a bool or 1e300
    in a hostile file), its ``t`` the chunk's own time."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    return float(value) if 0 <= value <= _LONGEST else default


def srt_cues(chain: Chain) -> list[tuple[float, float, str]]:
    """The cues (start s, end s, text) of ``chain``'s audit log, in time order."""
    agent = _agent(chain)
    cues: list[tuple[float, float, str]] = []
    for ev in chain.events():
        kind = ev.get("type")
        if kind == "input":
            start = _seconds(ev.get("start"), ev["t"])
            end = max(start, _seconds(ev.get("end"), start))
            who = agent if ev.get("who") == "agent" else "the local user"
            device = safe_text(ev.get("device", "input"), 20)
            cues.append((start, max(end, start + MIN_CUE), f"{device}: {who}"))
        elif kind == "grant" and "control" in str(ev.get("level", "")):
            cues.append((ev["t"], ev["t"] + NOTE_CUE, f"control granted to {agent}"))
        elif kind == "revoke" and "control" in str(ev.get("level", "")):
            by = "the local user took" if ev.get("by") == "host" else f"{agent} gave"
            cues.append((ev["t"], ev["t"] + NOTE_CUE, f"{by} control back"))
    return sorted(cues)


def _clock(t: float) -> str:
    ms = max(0, round(t * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def export_srt(source: RecordingReader | Chain, path: Path) -> int:
    """Write ``source``'s input and control rows to ``path`` as SubRip;
    returns the number of cues."""
    chain = source if isinstance(source, Chain) else Chain.of(source)
    cues = srt_cues(chain)
    with open(path, "w", encoding="utf-8") as f:
        for n, (start, end, text) in enumerate(cues, 1):
            f.write(f"{n}\n{_clock(start)} --> {_clock(end)}\n{text}\n\n")
    return len(cues)
