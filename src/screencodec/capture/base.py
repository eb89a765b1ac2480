"""The contract every frame source fulfils."""

from __future__ import annotations

import abc
from types import TracebackType

import numpy as np
import numpy.typing as npt

from ..geometry import Monitor

__all__ = ["CursorState", "FrameSource", "Hint", "LoopCursor", "SourceWrapper"]

#: Damage rectangles (x, y, w, h) as an (n, 4) int32 array, in frame coordinates.
Hint = npt.NDArray[np.int32]


class CursorState:
    """Where the pointer is and what it looks like, as a source reports it.

    ``shape`` is an (h, w, 4) uint8 BGRA image with straight alpha, or None when
    the source cannot tell; ``hotspot`` is the pixel of the shape that sits on
    the pointer's position.
    """

    __slots__ = ("hotspot", "shape", "visible", "x", "y")

    def __init__(
        self,
        x: int,
        y: int,
        *,
        shape: npt.NDArray[np.uint8] | None = None,
        hotspot: tuple[int, int] = (0, 0),
        visible: bool = True,
    ) -> None:
        self.x = x
        self.y = y
        self.shape = shape
        self.hotspot = hotspot
        self.visible = visible


class LoopCursor(abc.ABC):
    """The pointer read on an event loop without blocking it (a host's loop:
    transport/session/pointer_read.py): :meth:`ask` writes the question,
    :meth:`answer` takes the answer once it is all in, from a connection of
    its own whose :meth:`fileno` is readable when more of it came. One
    question at a time; called on one thread only. Closed by its owner."""

    @abc.abstractmethod
    def fileno(self) -> int: ...

    @abc.abstractmethod
    def ask(self) -> None:
        """Write the question (a few bytes: never waits); again before an
        answer was taken, nothing."""

    @abc.abstractmethod
    def answer(self) -> CursorState:
        """The pointer asked about, read without waiting: BlockingIOError
        while it is not all in (wait for :meth:`fileno`, then call again);
        any other error (ConnectionError, OSError: the server is gone, it
        said something that does not hold together) means the pointer is
        lost for good."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection (never waits)."""


class FrameSource(abc.ABC):
    """A context manager that produces frames: ``with source: frame = source.grab()``.

    A frame is an (H, W, 4) uint8 array in BGRX order (the 4th byte is padding
    and may hold anything). The array may be reused or overwritten by the next
    ``grab``; copy it to keep it, unless ``fresh_buffers``.
    """

    #: Each ``grab`` returns a new array that the source never touches again
    #: (the caller may keep it, or give it up: ``ScreenEncoder.encode(keep=True)``).
    fresh_buffers: bool = False

    @property
    @abc.abstractmethod
    def width(self) -> int: ...

    @property
    @abc.abstractmethod
    def height(self) -> int: ...

    @property
    @abc.abstractmethod
    def monitors(self) -> list[Monitor]:
        """The screens this source can show; index 0 is the bounding box of all."""

    @abc.abstractmethod
    def grab(self) -> npt.NDArray[np.uint8]:
        """Capture one frame of the selected monitor or region."""

    def grab_hinted(self) -> tuple[npt.NDArray[np.uint8], Hint | None]:
        """``(frame, hint)``: a :meth:`grab` and where the screen may have
        changed since the previous ``grab_hinted``, as :data:`Hint` rects in
        the frame's coordinates (they may overlap or stick out; n may be 0),
        or None when the source cannot tell (the default; the first grab; a
        switch of monitor or region). A change drawn while the frame is
        grabbed may show in it and be hinted with the next grab only (the
        hint of an update or a later one covers every change:
        ``ScreenEncoder.encode(hint=...)``). Its frame is a fresh buffer
        when :attr:`hinted_buffers_fresh` says so after the call."""
        return self.grab(), None

    @property
    def hinted_buffers_fresh(self) -> bool:
        """``fresh_buffers`` for the frame the last :meth:`grab_hinted`
        returned (a source may keep and update a frame of its own there:
        ``ScreenSource``). The default: as ``fresh_buffers``."""
        return self.fresh_buffers

    #: Whether the last :meth:`grab_hinted` took damage the source was told
    #: of (a hint rect besides a net of the source's own): False when it
    #: knows nothing was drawn, None when it cannot tell (the default).
    damage_found: bool | None = None

    def damage_pending(self) -> bool | None:
        """Whether the next :meth:`grab_hinted` may show a change, asked
        without grabbing: False when the source knows nothing was drawn since
        the last one took its damage, True when something may have been,
        None when it cannot tell (the default). Cheap, never blocks, never
        raises, and may be called from another thread than the grabs'
        (a host asks it on its event loop: ``CaptureHub.quiet``)."""
        return None

    def cursor(self) -> CursorState | None:
        """The pointer's state, or None when the source cannot tell."""
        return None

    def loop_cursor(self) -> LoopCursor | None:
        """A new :class:`LoopCursor` of the pointer :meth:`cursor` reads,
        for the caller to own and close, or None when the source has none
        (the default): then :meth:`cursor` is the way. It may block (it
        opens a connection): call it where :meth:`cursor` would be."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release what the source holds. Idempotent."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class SourceWrapper(FrameSource):
    """A source that passes everything to ``inner``: subclass it to observe,
    time or filter a source (override ``grab`` and call ``super().grab()``)."""

    def __init__(self, inner: FrameSource, /) -> None:
        self.inner = inner

    # fresh_buffers stays False: a subclass may return buffers of its own
    # (a frozen frame again); one that passes the inner frames on may say
    # ``fresh_buffers = True`` when the inner source's are.

    @property
    def width(self) -> int:
        return self.inner.width

    @property
    def height(self) -> int:
        return self.inner.height

    @property
    def monitors(self) -> list[Monitor]:
        return self.inner.monitors

    def grab(self) -> npt.NDArray[np.uint8]:
        return self.inner.grab()

    # grab_hinted stays the default (grab() and no hint): a subclass that
    # changes frames in grab would otherwise hand on hints of the inner ones.

    def cursor(self) -> CursorState | None:
        return self.inner.cursor()

    # loop_cursor stays the default (None): a subclass that changes the
    # pointer in cursor() would otherwise be passed by on the loop.

    def close(self) -> None:
        self.inner.close()
