"""What one viewer's session needs from the host that runs it, and from its
encoder: narrow interfaces, so that the session layer depends on these and not
on :class:`~.host.Host` (which implements :class:`SessionHost`).

Dependencies point one way: ``host`` -> ``link`` -> (``streaming``,
``input_gate``, ``pointer``) -> ``services``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from screencodec.transport.session.config import HostConfig
from screencodec.transport.session.consent import ConsentCallback
from screencodec.transport.session.screens import CaptureHub

if TYPE_CHECKING:
    from screencodec.transport.input.base import InputInjector
    from screencodec.transport.session import messages as m
    from screencodec.transport.session.clipboard import ClipboardLike
    from screencodec.transport.session.clipboard_host import ClipboardSync
    from screencodec.transport.session.events import Event
    from screencodec.transport.session.permissions import Permission
    from screencodec.transport.session.resume import ResumeTickets
    from screencodec.transport.session.sidechannels import (
        ExtensionRegistry,
        FileReceiver,
        FileSender,
    )

__all__ = [
    "EncoderFactory",
    "EncoderLike",
    "RecorderLike",
    "RecordingLike",
    "SessionHost",
    "SessionLink",
]


class EncoderLike(Protocol):
    """The encoder a session drives (``screencodec.ScreenEncoder`` and wrappers).
    An encoder that also has ``set_rate(bits_per_second, interval=...)`` is held
    to the link's rate; one that has ``take_spare()`` must also take
    ``encode(frame, keep=True)`` (fresh grabs are given up to it)."""

    def encode(self, frame: npt.NDArray[np.uint8], /) -> bytes: ...
    def request_keyframe(self) -> None: ...
    def close(self) -> None: ...


#: ``factory(width, height)``: a host's own encoder choice (it then decides
#: alone what the viewer can decode).
EncoderFactory = Callable[[int, int], EncoderLike]


class SessionHost(Protocol):
    """The host, as one viewer's session sees it."""

    @property
    def config(self) -> HostConfig: ...
    @property
    def hub(self) -> CaptureHub: ...
    @property
    def consent(self) -> ConsentCallback: ...
    @property
    def injector(self) -> InputInjector | None: ...
    @property
    def extensions(self) -> ExtensionRegistry: ...
    @property
    def tickets(self) -> ResumeTickets: ...
    @property
    def encoder_factory(self) -> EncoderFactory | None: ...
    @property
    def local_input_until(self) -> float: ...
    @property
    def local_input_since(self) -> float: ...
    @property
    def clipboard(self) -> ClipboardLike | None: ...
    @property
    def clip_sync(self) -> ClipboardSync: ...

    def emit(self, event: Event) -> None: ...
    def joined(self, link: object) -> None: ...
    def release_input(self) -> None: ...
    def release_input_of(self, link: object) -> tuple[int, int]: ...
    def let_up(self, what: tuple[str, int]) -> None: ...
    def note_injected_pointer(self, x: int, y: int) -> None: ...
    def files_for(self, link: object) -> FileReceiver: ...
    def sender_for(self, link: object) -> FileSender: ...
    async def take_over(self, link: object) -> tuple[Permission, int] | None: ...


class SessionLink(Protocol):
    """One viewer's session, as its send loop, input gate and cursor loop see it."""

    host: SessionHost
    monitor: int
    level: Permission
    capabilities: m.Capabilities  #: what its viewer declared

    async def send(self, msg: m.Message) -> None: ...
    async def send_raw(self, payload: bytes) -> None: ...
    def watch(self, index: int) -> None: ...
    def spawn(self, coro: Awaitable[Any]) -> None: ...


class RecordingLike(Protocol):
    """One viewer's session being recorded."""

    def end(self, reason: str, at: float | None = ...) -> None: ...
    def put(self, kind: str, obj: Any = ..., at: float | None = ...) -> None: ...
    def join(self, timeout: float | None = ...) -> bool:
        """Wait (a thread's wait) until its file is complete; whether it is."""
        ...


class RecorderLike(Protocol):
    """What a host needs from a session recorder
    (:class:`screencodec.recording.Recorder` is the one we ship): the session
    layer depends on this, not on the recording package."""

    def wrap_consent(self, consent: ConsentCallback) -> ConsentCallback: ...
    def open_session(self, peer: str, channel: Any) -> tuple[RecordingLike, Any]: ...
    def local_input(self, device: str = ...) -> None: ...
    def close(self) -> None: ...
