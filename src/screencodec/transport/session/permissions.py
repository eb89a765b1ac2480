"""Permission levels: an open registry of named flag bits, not a closed enum.

``VIEW`` and ``CONTROL`` are built in. An embedding application adds its own
(``ADMIN = register_permission("administrator")``) and maps them to whatever
they mean locally (elevation, clipboard, ...); the session layer only carries,
asks for, grants and revokes them. On the wire a set of levels is a u64 of
bits; a bit the receiver has not registered is never granted.

The registry is process-global and meant to be filled at import time; it is
guarded by a lock so late registration from another thread is still safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

__all__ = [
    "CONTROL",
    "VIEW",
    "ConsentRequest",
    "Grant",
    "Permission",
    "known_permissions",
    "register_permission",
]

_lock = threading.Lock()
_by_name: dict[str, int] = {}


@dataclass(frozen=True, slots=True)
class Permission:
    """An immutable set of levels (a bit mask). Combine with ``|``, test with ``in``."""

    bits: int = 0

    def __or__(self, other: Permission) -> Permission:
        return Permission(self.bits | other.bits)

    def __and__(self, other: Permission) -> Permission:
        return Permission(self.bits & other.bits)

    def __sub__(self, other: Permission) -> Permission:
        return Permission(self.bits & ~other.bits)

    def __contains__(self, other: Permission) -> bool:
        return other.bits != 0 and self.bits & other.bits == other.bits

    def __bool__(self) -> bool:
        return self.bits != 0

    @property
    def names(self) -> tuple[str, ...]:
        """The registered names in this set (unknown bits are left out)."""
        with _lock:
            return tuple(n for n, b in _by_name.items() if self.bits & (1 << b))

    @property
    def known(self) -> Permission:
        """This set without the bits nobody registered."""
        with _lock:
            mask = sum(1 << b for b in _by_name.values())
        return Permission(self.bits & mask)

    def __str__(self) -> str:
        return "+".join(self.names) or "none"

    def taking(self, level: Permission) -> Permission:
        """What revoking ``level`` takes from this set: all of it when VIEW
        goes, since nothing outlives the view (the session ends; before
        stop 34 a revoke of VIEW told "remaining: control")."""
        taken = self & level
        return self if VIEW in taken else taken


def register_permission(name: str, bit: int | None = None) -> Permission:
    """Register a level and return it; idempotent for the same name and bit.

    ``bit`` pins the wire bit (both peers must agree); by default the next free
    one is taken, which is only stable if both sides register in the same order.
    """
    with _lock:
        if name in _by_name:
            if bit is not None and _by_name[name] != bit:
                raise ValueError(f"permission {name!r} already has bit {_by_name[name]}")
            return Permission(1 << _by_name[name])
        used = set(_by_name.values())
        if bit is None:
            bit = next(b for b in range(64) if b not in used)
        if not 0 <= bit < 64 or bit in used:
            raise ValueError(f"bit {bit} is out of range or taken")
        _by_name[name] = bit
        return Permission(1 << bit)


def known_permissions() -> dict[str, Permission]:
    with _lock:
        return {n: Permission(1 << b) for n, b in _by_name.items()}


VIEW = register_permission("view", 0)
CONTROL = register_permission("control", 1)


#: What a ``y`` gives, per built-in level, in the words a question uses.
_MEANS = {"view": "SEE your screen", "control": "CONTROL your mouse and keyboard"}


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """What the local user is asked: ``who`` (as the agent typed it, untrusted,
    already passed through :func:`~..channel.display.safe_text`), from where
    (``peer``, likewise), for which ``level``, and whether it upgrades a session
    already running (``upgrade``) or opens one.

    ``question`` numbers the question among all those the host asks its local
    user (permission, upgrade, file; see :class:`~.consent.QuestionQueue`): an
    interface shows it, so an answer is visibly the answer to *this* question.
    """

    who: str
    peer: str
    level: Permission
    upgrade: bool = False
    question: int = 0
    recorded: bool = False  #: the host records this session: the question says so

    def grants(self) -> str:
        """What answering yes grants, in plain words (``"CONTROL your mouse and keyboard"``)."""
        parts = [_MEANS.get(n, f"the permission {n!r}") for n in self.level.names]
        return " and ".join(parts) or "nothing"

    def describe(self) -> str:
        also = "ALSO " if self.upgrade else ""
        note = " (this session is RECORDED)" if self.recorded else ""
        return f"{self.who!r} ({self.peer}) asks to {also}{self.grants()} [{self.level}]{note}"


@dataclass(frozen=True, slots=True)
class Grant:
    """The local user's answer: the levels granted (empty = denied)."""

    level: Permission = Permission()

    @property
    def granted(self) -> bool:
        return bool(self.level)

    @classmethod
    def deny(cls) -> Grant:
        return cls(Permission())
