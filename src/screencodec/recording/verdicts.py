"""What ``recordings verify`` found in a recording's pictures: plain data
that the picture check (``recording.pictures``) makes and the reader's
``VerifyReport`` carries, here so that neither module imports the other."""

from __future__ import annotations

from dataclasses import dataclass

from screencodec.errors import ScreencodecError
from screencodec.transport.channel.display import counted

__all__ = ["BadPictureError", "PictureFailure", "PictureReport"]


@dataclass(frozen=True)
class PictureFailure:
    """The first screen update (or checkpoint) that does not decode."""

    kind: str  #: "update", "checkpoint" or "pointer" (a cursor message)
    #: the update's number (0-based); a checkpoint's: updates before it; a
    #: pointer's: the cursor message's number (0-based)
    ordinal: int
    sequence: int  #: the session sequence the chunk carries
    time: float  #: seconds into the recording
    chunk: int  #: the chunk's index in the file
    reason: str

    def describe(self) -> str:
        if self.kind == "pointer":
            what = f"cursor message {self.ordinal} (chunk {self.chunk})"
        elif self.kind == "checkpoint":
            what = (f"checkpoint after update {self.ordinal} (chunk {self.chunk}, "
                    f"sequence {self.sequence})")  # fmt: skip
        else:
            what = (f"update {self.ordinal} (chunk {self.chunk}, session sequence "
                    f"{self.sequence})")  # fmt: skip
        return f"{what} at t={self.time:.3f} s: {self.reason}"


@dataclass(frozen=True)
class PictureReport:
    """What :func:`check_pictures` decoded, and the first failure (None: none)."""

    updates: int  #: updates decoded (all of them when ``failure`` is None)
    checkpoints: int  #: checkpoints decoded and found equal to the stream
    failure: PictureFailure | None
    seconds: float  #: wall time the check took
    unchecked: str = ""  #: why the pictures could not be checked ("" when they were)
    hashed: int = 0  #: pictures found equal to the host's recorded hash (PICTURE chunks)
    pointers: int = 0  #: pointers found equal to the host's recorded hash (POINTER chunks)

    def describe(self) -> str:
        if self.unchecked:
            return f"pictures NOT checked: {self.unchecked}"
        if self.failure is not None:
            return (f"a picture does not decode: {self.failure.describe()} "
                    f"({counted(self.updates, 'update')} before it decoded)")  # fmt: skip
        said = (f"pictures: {counted(self.updates, 'update')} and"
                f" {counted(self.checkpoints, 'checkpoint')} "
                "decoded")  # fmt: skip
        if not self.hashed:
            return said + " (no picture hashes recorded: a wrong pixel of a delta is seen "\
                "only if it lasts until a checkpoint)"
        said = f"{said}, {counted(self.hashed, 'picture')} equal to the host's recorded hashes"
        if not self.pointers:
            return said + " (no pointer hashes recorded: the pointer is not checked)"
        return f"{said}, and {counted(self.pointers, 'pointer')}"


class BadPictureError(ScreencodecError):
    """A picture (or the pointer) a player was about to show is not the one
    the host recorded, or does not decode: ``failure`` says which, as
    ``verify`` would. Not a DecodeError: another seek point would not make
    the recording's own picture right."""

    def __init__(self, path: object, failure: PictureFailure) -> None:
        super().__init__(f"{path}: bad-picture: {failure.describe()}")
        self.failure = failure
