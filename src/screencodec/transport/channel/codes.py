"""Session credentials: the 9-digit session code and the one-time password.

The host shows both to its local user, who reads them to the support agent
over the phone. The code names the session (it is not secret: relays see it);
the password is the secret the PAKE proves knowledge of, and it never crosses
the wire.

Entropy: the password is 8 symbols drawn uniformly by :mod:`secrets` from a
32-symbol alphabet (digits 2-9 and lowercase letters without ``l`` and ``o``),
so 40 bits. That is far too little against an offline search, which is why it
is only ever used through SPAKE2: each guess costs one online handshake, and
:data:`~screencodec.transport.channel.limits.MAX_FAILED_ATTEMPTS` failures invalidate
the password, so an attacker's chance per password is 3 / 2**40.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Callable

from screencodec.errors import AuthenticationError
from screencodec.transport.channel.limits import MAX_FAILED_ATTEMPTS

__all__ = [
    "CODE_DIGITS",
    "PASSWORD_ALPHABET",
    "PASSWORD_BITS",
    "PASSWORD_LENGTH",
    "SessionCredentials",
    "format_code",
    "generate_code",
    "generate_password",
    "normalize_password",
    "parse_code",
]

CODE_DIGITS = 9

#: No 0/O, 1/l/I: nothing that reads or sounds alike. Lowercase only, so the
#: person reading it never has to say "capital".
PASSWORD_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyz"
PASSWORD_LENGTH = 8
PASSWORD_BITS = PASSWORD_LENGTH * math.log2(len(PASSWORD_ALPHABET))


def generate_code() -> str:
    """A fresh session code: 9 decimal digits, leading zeros allowed."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def generate_password() -> str:
    """A fresh one-time password (see the module docstring for its entropy)."""
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def format_code(code: str, /) -> str:
    """``"123456789"`` -> ``"123 456 789"`` for display."""
    code = parse_code(code)
    return f"{code[0:3]} {code[3:6]} {code[6:9]}"


def parse_code(text: str, /) -> str:
    """Parse a session code typed with or without spaces (or dashes).

    Raises ValueError unless it is exactly 9 ASCII digits.
    """
    digits = "".join(text.split()).replace("-", "")
    if len(digits) != CODE_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"a session code is {CODE_DIGITS} digits, like 123 456 789")
    return digits


def normalize_password(text: str, /) -> str:
    """The password as the PAKE uses it: spaces dropped, lowercased.

    Raises ValueError if it holds symbols outside the alphabet, so a typo such
    as a zero is reported locally instead of costing one of the 3 attempts.
    """
    pw = "".join(text.split()).lower()
    if len(pw) != PASSWORD_LENGTH or any(c not in PASSWORD_ALPHABET for c in pw):
        raise ValueError(
            f"a session password is {PASSWORD_LENGTH} symbols from {PASSWORD_ALPHABET!r}"
        )
    return pw


PasswordListener = Callable[["SessionCredentials"], None]


class SessionCredentials:
    """The host's side of one session: its code, current password and attempt count.

    State: ``generation`` counts passwords (each :meth:`rotate_password` makes a
    new one). Failed PAKE attempts count against the current generation; at
    :data:`MAX_FAILED_ATTEMPTS` the password is *invalidated*: every handshake is
    refused (even with the right password) until the host rotates it and shows
    the new one. Listeners registered with :meth:`add_invalidation_listener` (or
    the ``on_password_invalidated`` argument) are called once per invalidation;
    the session layer uses that to rotate and redisplay.

    Attempts are *reserved* when a handshake starts (:meth:`begin_attempt`), not
    counted when it fails, so parallel connections cannot sneak more than
    :data:`MAX_FAILED_ATTEMPTS` guesses in before the first failure lands.

    :meth:`end` retires the session: its code is gone for good; a listener or
    relay registration that holds these credentials closes (with every channel
    it accepted) and anything still reaching it is refused SESSION_ENDED.

    Concurrency: used from one event loop only; no method awaits.
    """

    __slots__ = ("_code", "_end_listeners", "_ended", "_failed", "_generation", "_listeners",
                 "_password", "_pending", "max_failed")

    def __init__(
        self,
        code: str | None = None,
        password: str | None = None,
        *,
        on_password_invalidated: PasswordListener | None = None,
        max_failed: int = MAX_FAILED_ATTEMPTS,
    ) -> None:
        self._code = parse_code(code) if code is not None else generate_code()
        self._password = normalize_password(password) if password else generate_password()
        self._generation = 1
        self._failed = 0
        self._pending = 0
        self._ended = False
        self.max_failed = max_failed
        self._listeners: list[PasswordListener] = []
        self._end_listeners: list[PasswordListener] = []
        if on_password_invalidated is not None:
            self._listeners.append(on_password_invalidated)

    def __repr__(self) -> str:
        # Never the password: reprs end up in logs.
        return (f"SessionCredentials(code={format_code(self._code)!r}, "
                f"generation={self._generation}, failed={self._failed}, "
                f"invalidated={self.invalidated}, ended={self._ended})")

    @property
    def code(self) -> str:
        """The session code, 9 digits without spaces (see :func:`format_code`)."""
        return self._code

    @property
    def display_code(self) -> str:
        return format_code(self._code)

    @property
    def password(self) -> str:
        """The current one-time password, to show to the local user."""
        return self._password

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def failed_attempts(self) -> int:
        return self._failed

    @property
    def invalidated(self) -> bool:
        """True once too many attempts failed, until :meth:`rotate_password`."""
        return self._failed >= self.max_failed

    @property
    def ended(self) -> bool:
        return self._ended

    def add_invalidation_listener(self, listener: PasswordListener) -> None:
        self._listeners.append(listener)

    def rotate_password(self) -> str:
        """Draw a new password, reset the attempt count and return the password.

        Handshakes already in flight were started with the old password and
        fail (their password no longer matches what the host proves).
        """
        self._check_not_ended()
        self._password = generate_password()
        self._generation += 1
        self._failed = 0
        self._pending = 0
        return self._password

    def add_end_listener(self, listener: PasswordListener) -> None:
        """Call ``listener(credentials)`` once when :meth:`end` is called.

        Listeners and relay registrations holding these credentials use it to
        shut down (and take the code off the relay) at once.
        """
        if self._ended:
            listener(self)
        else:
            self._end_listeners.append(listener)

    def end(self) -> None:
        """Retire the session: no handshake will ever succeed with it again."""
        if self._ended:
            return
        self._ended = True
        self._password = ""
        listeners, self._end_listeners = self._end_listeners, []
        for listener in listeners:
            listener(self)

    def matches_code(self, code: str) -> bool:
        """Constant-time comparison of a code a peer named with ours."""
        return hmac.compare_digest(code.encode("ascii", "replace"), self._code.encode())

    def begin_attempt(self) -> int:
        """Reserve one attempt; returns the generation it is for.

        Raises AuthenticationError if the session ended or the password is
        invalidated, or if reserved + failed attempts already reach the limit.
        """
        self._check_not_ended()
        if self.invalidated:
            raise AuthenticationError("the session password was invalidated after "
                                      "too many failed attempts; the host must show a new one")
        if self._failed + self._pending >= self.max_failed:
            raise AuthenticationError("too many authentication attempts in progress")
        self._pending += 1
        return self._generation

    def finish_attempt(self, generation: int, *, success: bool, counted: bool = True) -> None:
        """Release a reservation from :meth:`begin_attempt`.

        ``counted=False`` for an attempt that ended before the peer could learn
        anything about the password (before our PAKE message was sent).
        """
        if generation != self._generation:
            return  # rotated meanwhile: the old generation's count is gone
        self._pending = max(0, self._pending - 1)
        if success or not counted:
            return
        was_valid = not self.invalidated
        self._failed += 1
        if was_valid and self.invalidated:
            for listener in list(self._listeners):
                listener(self)

    def _check_not_ended(self) -> None:
        if self._ended:
            raise AuthenticationError("this session has ended")
