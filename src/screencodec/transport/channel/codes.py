"""Session credentials: the 9-digit session code and the one-time password.

The host shows both to its local user, who reads them to the support agent
over the phone. The code names the session (it is not secret: relays see it);
the password is the secret the PAKE proves knowledge of, and it never crosses
the wire.

Entropy: the password is 8 symbols drawn uniformly by :mod:`secrets` from a
32-symbol alphabet (digits 2-9 and lowercase letters without ``l`` and ``o``),
so 40 bits. That is far too little against an offline search, which is why it
is only ever used through SPAKE2: each guess costs one online check, and the
session's :class:`~.throttle.GuessThrottle` spaces checks out (at most 725 an
hour with the default policy, whatever the number of source addresses), so an
attacker's chance is below 1e-9 per hour. Nothing an attacker does invalidates
the password: the real agent is never locked out.
"""

from __future__ import annotations

import hmac
import math
import secrets
from collections.abc import Callable

from screencodec.errors import AuthenticationError, FormatError
from screencodec.transport.channel.throttle import GuessThrottle, ThrottlePolicy

__all__ = [
    "CODE_DIGITS",
    "GROUP_SEPARATORS",
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


#: What people put between the groups of a code or password they write down
#: or read out ("huz6-kbgp", "huz6.kbgp"), besides spaces: none is in
#: :data:`PASSWORD_ALPHABET`, so dropping them takes nothing from a password
#: (walk41: the code took "652-001-091", the password refused "huz6-kbgp").
GROUP_SEPARATORS = "-."


def _ungrouped(text: str) -> str:
    """``text`` without whitespace and :data:`GROUP_SEPARATORS`."""
    joined = "".join(text.split())
    for sep in GROUP_SEPARATORS:
        joined = joined.replace(sep, "")
    return joined


def parse_code(text: str, /) -> str:
    """Parse a session code typed with or without spaces, dashes or dots
    ("983 006 618", "983-006-618", "983.006.618": how people write a number
    down in groups).

    Raises :class:`~screencodec.errors.FormatError` (a ValueError) unless it
    is exactly 9 ASCII digits.
    """
    digits = _ungrouped(text)
    if len(digits) != CODE_DIGITS or not (digits.isascii() and digits.isdigit()):
        raise FormatError(f"a session code is {CODE_DIGITS} digits, like 123 456 789")
    return digits


def normalize_password(text: str, /) -> str:
    """The password as the PAKE uses it: spaces, dashes and dots between
    groups dropped (as :func:`parse_code` drops them), lowercased.

    Raises :class:`~screencodec.errors.FormatError` (a ValueError) if it holds
    symbols outside the alphabet, so a typo such
    as a zero is reported locally instead of costing one of the 3 attempts.
    """
    pw = _ungrouped(text).lower()
    if len(pw) != PASSWORD_LENGTH or any(c not in PASSWORD_ALPHABET for c in pw):
        raise FormatError(
            f"a session password is {PASSWORD_LENGTH} symbols from {PASSWORD_ALPHABET!r}"
        )
    return pw


PasswordListener = Callable[["SessionCredentials"], None]
#: ``listener(credentials, address_key)``: a password check failed.
GuessListener = Callable[["SessionCredentials", str], None]


class SessionCredentials:
    """The host's side of one session: its code, current password and the
    throttle its password checks go through.

    State: ``generation`` counts passwords (each :meth:`rotate_password` makes a
    new one); :attr:`throttle` (a :class:`~.throttle.GuessThrottle`) decides
    when each password check may start; :attr:`failed_attempts` counts the
    failed checks of the whole session (a rotation does not reset it, and a
    handshake begun before a rotation is checked against, and counted for, the
    new password). Listeners registered with :meth:`add_guess_listener` hear of
    every failed check (the session layer turns that into an event the local
    user sees).

    :meth:`end` retires the session: its code is gone for good; a listener or
    relay registration that holds these credentials closes (with every channel
    it accepted) and anything still reaching it is refused SESSION_ENDED.

    Concurrency: used from one event loop only; no method awaits.
    """

    __slots__ = ("_code", "_end_listeners", "_ended", "_generation", "_guess_listeners",
                 "_password", "throttle")

    def __init__(
        self,
        code: str | None = None,
        password: str | None = None,
        *,
        policy: ThrottlePolicy | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._code = parse_code(code) if code is not None else generate_code()
        self._password = normalize_password(password) if password else generate_password()
        self._generation = 1
        self._ended = False
        self.throttle = (GuessThrottle(policy) if clock is None
                         else GuessThrottle(policy, clock=clock))
        self._guess_listeners: list[GuessListener] = []
        self._end_listeners: list[PasswordListener] = []

    def __repr__(self) -> str:
        # Never the password: reprs end up in logs.
        return (f"SessionCredentials(code={format_code(self._code)!r}, "
                f"generation={self._generation}, failed={self.failed_attempts}, "
                f"ended={self._ended})")

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
        """Failed password checks in this session so far (all generations)."""
        return self.throttle.failed

    @property
    def invalidated(self) -> bool:
        """Always False: failed guesses slow checking down, they never
        invalidate the password (kept for callers of the earlier rule)."""
        return False

    @property
    def ended(self) -> bool:
        return self._ended

    def add_guess_listener(self, listener: GuessListener) -> None:
        """Call ``listener(credentials, address_key)`` after each failed check."""
        self._guess_listeners.append(listener)

    def add_invalidation_listener(self, listener: PasswordListener) -> None:
        """Kept for callers of the earlier rule: passwords are no longer
        invalidated, so ``listener`` is never called."""

    def rotate_password(self) -> str:
        """Draw a new password and return it (an application's choice: guessing
        never forces one). Checks that start from now on, including those of
        handshakes already waiting, use the new password; the throttle goes on."""
        self._check_not_ended()
        self._password = generate_password()
        self._generation += 1
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

    def check_failed(self, key: str) -> None:
        """Tell the listeners that a check from ``key`` failed (the handshake
        calls this after :meth:`GuessThrottle.finish`)."""
        for listener in list(self._guess_listeners):
            listener(self, key)

    def _check_not_ended(self) -> None:
        if self._ended:
            raise AuthenticationError("this session has ended")
