"""Who may talk to the web viewer: one page, proven by a one-time token.

The URL the agent opens carries a random token in its fragment (``#k=...``).
Browsers never send a fragment to a server, so it stays out of request
lines, logs and Referer headers; the page reads it and presents it as the
first message on the WebSocket. Everything but the two public bootstrap files
is served only under a path derived from the token (:attr:`static_key`), which
the page computes with SHA-256 once it has read the fragment.

The token admits one page, once. On admission the page receives a *resume*
key (kept in the tab's sessionStorage) that lets the same tab reconnect after
a reload; every admission draws a new one. While a page is connected nothing
else is admitted, whatever it presents: a second tab cannot take over.
Comparisons are constant time.

A page refused although it presented a right key (a second tab opened on
the link by hand, or a duplicate of the tab) is told why (:attr:`PageAccess.refusal`:
:data:`IN_USE` or :data:`SPENT`, its socket's close code, which the page
words itself): it holds the secret, so this tells it nothing new, and it
said "the viewer program stopped or lost this page: reload" (web39), which
was not true. A wrong key is told nothing.

Not thread-safe: owned by the web server's event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["IN_USE", "SPENT", "PageAccess", "static_key_of"]

_TOKEN_BYTES = 32

#: A right key while another page holds the session (the page: app/refusal.js).
IN_USE = 4001
#: The link's token again, once spent, no page holding the session (its tab
#: closed or reloading: that tab's resume key lets it back).
SPENT = 4002


def static_key_of(token: str) -> str:
    """The path component that gates the page's static files (what the page
    computes from the token: hex SHA-256 of ``"screencodec-static:" + token``)."""
    return hashlib.sha256(f"screencodec-static:{token}".encode()).hexdigest()


class PageAccess:
    """The token, the resume key and whether a page holds the session.

    ``token``: the secret in the URL (urlsafe base64, 256 bits).
    ``static_key``: the derived path component for static files.
    ``live``: a page is connected right now.
    """

    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(_TOKEN_BYTES)
        self.static_key = static_key_of(self.token)
        self._token_used = False
        self._resume: str | None = None
        self.live = False
        self.refused = 0
        #: Why the last page refused with a right key was (:data:`IN_USE`,
        #: :data:`SPENT`); None after a wrong key or an admission.
        self.refusal: int | None = None

    def admit(self, presented: object) -> str | None:
        """A page presents ``presented`` (the token or a resume key): returns a
        fresh resume key if it is admitted, else None (and counts a refusal,
        :attr:`refusal` saying why if the key was right)."""
        self.refusal = None
        by_token = by_resume = False
        if isinstance(presented, str):
            given = presented.encode()
            # Both comparisons always run: the timing says nothing about which.
            by_token = hmac.compare_digest(given, self.token.encode())
            by_resume = self._resume is not None and hmac.compare_digest(
                given, self._resume.encode()
            )
        if self.live or not ((by_token and not self._token_used) or by_resume):
            self.refused += 1
            if by_token or by_resume:
                self.refusal = IN_USE if self.live else SPENT
            return None
        self._token_used = True
        self.live = True
        self._resume = secrets.token_urlsafe(_TOKEN_BYTES)
        return self._resume

    def release(self) -> None:
        """The live page went away: its tab may come back with its resume key."""
        self.live = False

    def static_ok(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self.static_key.encode())
