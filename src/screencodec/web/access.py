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
was not true. So is a page presenting a resume key this server issued
earlier and another admission spent (:data:`USED`: a copy of the tab whose
original reloaded, or the original after its copy came in): only a page that
once held it can present it, so telling it "used" tells nothing new either
(webtail39: it read "reload", which gave "no viewer key"). The spent keys
are kept as SHA-256 digests only, at most :data:`_KEPT_SPENT` of them. A
wrong key is told nothing.

Not thread-safe: owned by the web server's event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["IN_USE", "SPENT", "USED", "PageAccess", "static_key_of"]

_TOKEN_BYTES = 32
#: How many spent resume keys are remembered (each admission spends one: a
#: tab reloaded this many times forgets its first copies' keys).
_KEPT_SPENT = 1000

#: A right key while another page holds the session (the page: app/refusal.js).
IN_USE = 4001
#: The link's token again, once spent, no page holding the session (its tab
#: closed or reloading: that tab's resume key lets it back).
SPENT = 4002
#: A resume key of this session that an admission since spent (the page:
#: app/refusal.js): another tab with the same key came in with it.
USED = 4003


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
        self._spent: dict[bytes, None] = {}  # SHA-256 of spent resume keys, oldest first
        self.live = False
        self.refused = 0
        #: Why the last page refused with a right key was (:data:`IN_USE`,
        #: :data:`SPENT`, :data:`USED`); None after a wrong key or an admission.
        self.refusal: int | None = None

    def admit(self, presented: object) -> str | None:
        """A page presents ``presented`` (the token or a resume key): returns a
        fresh resume key if it is admitted, else None (and counts a refusal,
        :attr:`refusal` saying why if the key was right)."""
        self.refusal = None
        by_token = by_resume = False
        given = b""
        if isinstance(presented, str):
            # surrogatepass: JSON lets a page send a lone surrogate, which
            # raised here (webtail39: the handler's traceback, no refusal counted).
            given = presented.encode("utf-8", "surrogatepass")
            # Both comparisons always run: the timing says nothing about which.
            by_token = hmac.compare_digest(given, self.token.encode())
            by_resume = self._resume is not None and hmac.compare_digest(
                given, self._resume.encode()
            )
        if self.live or not ((by_token and not self._token_used) or by_resume):
            self.refused += 1
            if by_token or by_resume:
                self.refusal = IN_USE if self.live else SPENT
            elif given and _digest(given) in self._spent:
                # A digest looked up, not the key: its timing tells nothing of a key.
                self.refusal = USED
            return None
        self._token_used = True
        self.live = True
        if self._resume is not None:
            self._spent[_digest(self._resume.encode())] = None
            while len(self._spent) > _KEPT_SPENT:
                del self._spent[next(iter(self._spent))]
        self._resume = secrets.token_urlsafe(_TOKEN_BYTES)
        return self._resume

    def release(self) -> None:
        """The live page went away: its tab may come back with its resume key."""
        self.live = False

    def static_ok(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self.static_key.encode())


def _digest(key: bytes) -> bytes:
    return hashlib.sha256(key).digest()
