"""Making peer-supplied text safe to show: one function, used wherever a string
a peer chose (a viewer's name, an address a relay reports, a close or Bye
reason, a file name, a chat line) reaches a terminal, a log or a dialog.

A peer can put anything in those strings. Shown raw on a terminal, escape
sequences retitle the window, clear the screen, hide later output (``ESC[8m``)
or move the cursor so that a question reads differently from what ``y``
grants; bidi overrides reorder what is shown; a 1 KiB "address" pushes the
real text off screen. :func:`safe_text` removes all of that and bounds the
length. Event fields and :class:`~..session.permissions.ConsentRequest` fields
are passed through it by the session layer, but an embedder who shows any
other peer-supplied text must call it too (see docs/security.md).
"""

from __future__ import annotations

import os
import re
import unicodedata

__all__ = ["MAX_SHOWN", "amount", "counted", "in_words", "limit_amount", "safe_text"]

#: Default bound on a shown peer string, in characters.
MAX_SHOWN = 120

# Whole escape sequences go, not just their ESC: what follows an ESC (``[8m``,
# ``]0;title``) is the payload. 7-bit CSI/OSC/DCS/... and their 8-bit C1 forms.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"  # CSI ... final byte
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS...
    r"|\x1b[ -/]*[0-~]?"  # other two-byte escapes (ESC c resets the terminal)
)

# Anything that is not a visible character or a plain space: C0 and C1
# controls (Cc), format characters (Cf: bidi overrides and isolates, zero-width
# joiners and marks), surrogates (Cs), private use (Co), unassigned (Cn) and
# the line and paragraph separators (Zl, Zp).
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def safe_text(text: object, limit: int = MAX_SHOWN) -> str:
    """``text`` as one harmless line of at most ``limit`` characters.

    Escape sequences are removed whole; every other control, format or
    invisible character (C0, C1, DEL, bidi overrides, zero-width characters,
    line separators) becomes ``?`` so the reader sees that something was
    there; runs of whitespace become one space. Longer results are cut and end
    in ``...``. Never raises: a non-string is shown by its ``str``.
    """
    s = text if isinstance(text, str) else str(text)
    if len(s) > limit * 8:  # bound the work on a huge input before any regex
        s = s[: limit * 8]
    s = _SEQUENCES.sub("?", s)
    out = []
    for ch in s:
        if ch in "\t\n\r\v\f":
            out.append(" ")
        elif unicodedata.category(ch) in _HIDDEN:
            out.append("?")
        else:
            out.append(ch)
    shown = re.sub(r" {2,}", " ", "".join(out)).strip()
    if len(shown) > limit:
        shown = shown[: max(0, limit - 3)] + "..."
    return shown


#: Python's spelling of an OSError: "[Errno 111] Connect call failed ('H', P)",
#: "[Errno -2] Name or service not known" (a name lookup's, getaddrinfo's).
_ERRNO = re.compile(r"\[Errno (-?\d+)\] ([^;]*)")


def in_words(text: str) -> str:
    """``text`` with each "[Errno N] ..." in the system's words, lowercased
    ("connection refused", "name or service not known"): what a user reads
    of a failed connect, without Python's spelling of it (a terminal's
    lines, cli/terminal.py, and the web page's, web/run.py)."""

    def words(found: re.Match[str]) -> str:
        number = int(found.group(1))
        return (os.strerror(number) if number > 0 else found.group(2)).lower()

    return _ERRNO.sub(words, text)


def amount(size: float) -> str:
    """``size`` bytes in a person's units: "850 bytes", "12 kB", "6.3 MB",
    "1.2 GB" (a question about a 300 MB file said "300000000 bytes")."""
    units = (("GB", 1e9), ("MB", 1e6), ("kB", 1e3))
    for k, (unit, scale) in enumerate(units):
        if size >= scale:
            shown = size / scale
            text = f"{shown:.1f}" if shown < 100 else f"{shown:.0f}"
            if text == "100.0":  # 99.95 and up rounds to three figures, not four
                text = "100"
            if text == "1000" and k:  # 999.5 and up is the next unit's 1.0
                return f"1.0 {units[k - 1][0]}"
            return f"{text} {unit}"
    return f"{size:.0f} bytes" if size != 1 else "1 byte"  # walk46: "1 bytes"


def counted(n: int, noun: str) -> str:
    """``n`` and the noun, singular for one: "1 update", "3 updates"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def limit_amount(size: int) -> str:
    """A limit in a person's units, never shown above itself, to three
    figures: "1.07 GB" for 1 GiB, which :func:`amount` shows as "1.1 GB",
    so that a 1.08 GB file refused read as under the limit it broke. In
    whole numbers: a float's floor showed 1.15 GB as "1.14 GB", and only a
    fraction loses its trailing zeros (250 MB read "25 MB")."""
    for unit, scale in (("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if size >= scale:
            digits = 0 if size >= 100 * scale else 1 if size >= 10 * scale else 2
            whole, part = divmod(size * 10**digits // scale, 10**digits)
            shown = f"{whole}.{part:0{digits}d}".rstrip("0").rstrip(".") if digits else f"{whole}"
            return f"{shown} {unit}"
    return f"{size} bytes" if size != 1 else "1 byte"
