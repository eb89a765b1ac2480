"""A program written against the public API only; tests/test_typing.py runs
mypy --strict on it, so a stub or an annotation that drifts breaks the build."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

import screencodec
from screencodec import (
    AccessRefusedError,
    CursorEncoder,
    CursorState,
    DecodeError,
    FormatError,
    Rect,
    RefuseCode,
    ScreencodecError,
    ScreenDecoder,
    ScreenEncoder,
    open_source,
)
from screencodec.capture import FrameSource
from screencodec.recording import RecordingReader, RetentionPolicy
from screencodec.transport import (
    CONTROL,
    VIEW,
    Event,
    ExtensionHandler,
    FileConsent,
    FileOfferInfo,
    Host,
    HostConfig,
    LinkStats,
    PasswordGuessed,
    Permission,
    SessionCredentials,
    SessionEnded,
    SharedScreen,
    Subscription,
    Viewer,
    allow,
    first_picture,
    safe_filename,
    safe_text,
    share,
    view,
)


def codec_round_trip(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = frame.shape[:2]
    with ScreenEncoder(width, height, history=True) as enc:
        data: bytes = enc.encode(frame)
    dec = ScreenDecoder()
    try:
        image: npt.NDArray[np.uint8] = dec.decode(data)
    except DecodeError:
        keyframe_needed: bool = dec.needs_keyframe
        raise ScreencodecError(f"needs keyframe: {keyframe_needed}") from None
    return image


def a_source() -> FrameSource:
    return open_source("synthetic", width=320, height=200, scenario="typing")


def geometry() -> int:
    return Rect(0, 0, 10, 10).intersection(Rect(5, 5, 10, 10)).area


def cursor() -> list[bytes]:
    return CursorEncoder().update(CursorState(1, 2))


async def share_once() -> str:
    async with share(a_source(), listen=0, consent=allow()) as session:
        shared: SharedScreen = session
        code: str = shared.code
        stats: list[LinkStats] = shared.host.stats()
        del stats
        return code + await shared.wait_ended()


async def watch(code: str, password: str) -> int:
    async with view("127.0.0.1:7390", code=code, password=password) as viewer:
        v: Viewer = viewer
        frame = await first_picture(v, timeout=5)
        granted: bool = await v.request(CONTROL)
        level: Permission = v.level
        return int(frame.shape[0]) + granted + (VIEW in level)


async def take_small(offer: FileOfferInfo) -> bool:
    return offer.size < 1 << 20 and offer.name == safe_filename(offer.name)


async def echo(peer: str, payload: bytes) -> bytes | None:
    return payload


async def files_both_ways(code: str, password: str) -> bool:
    """walk39: share()/view() take file_consent (and view download_dir)."""
    asked: FileConsent = take_small
    handler: ExtensionHandler = echo
    cfg = HostConfig(download_dir=Path("in"))
    async with share(a_source(), listen=0, consent=allow(), config=cfg, file_consent=asked) as s:
        s.host.register_channel("app.echo", handler)
        try:
            async with view("127.0.0.1:7390", code=code, password=password,
                            download_dir=Path("got"), file_consent=asked) as viewer:  # fmt: skip
                events: Subscription = viewer.events()
                events.close()
                return await viewer.send_file(Path("notes.txt"))
        except FormatError:  # a code, password or HOST:PORT of the wrong form
            return False


async def host_events(host: Host) -> list[str]:
    lines: list[str] = []
    async for event in host.events():
        e: Event = event
        if isinstance(e, PasswordGuessed):
            lines.append(safe_text(e.source))
        elif isinstance(e, SessionEnded):
            lines.append(safe_text(e.reason))
            break
    return lines


def refusal(exc: AccessRefusedError) -> bool:
    return exc.code is RefuseCode.RATE_LIMITED


def config() -> tuple[HostConfig, SessionCredentials, RetentionPolicy]:
    return HostConfig(consent_timeout=10.0), SessionCredentials(), RetentionPolicy(days=30)


def recording_length(path: str) -> float:
    reader = RecordingReader(path)
    try:
        return reader.duration
    finally:
        reader.close()


VERSION: str = screencodec.__version__
