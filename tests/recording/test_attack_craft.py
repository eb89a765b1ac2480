"""Crafting hostile ``.screc`` files for the test_attack_* tests (this module
holds no tests): chunks written byte by byte, with valid CRCs unless a test
breaks them, so each file reaches the code an attack aims at rather than
stopping at the first checksum. The auditor's tools run as the auditor runs
them: ``.venv/bin/screencodec recordings ...`` in a process of its own."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from screencodec.cli.main import main
from screencodec.geometry import Rect
from screencodec.recording.format import (
    CHUNK_HEADER,
    CHUNK_MAGIC,
    FORMAT,
    MAGIC,
    ChunkFlags,
    ChunkType,
    crc_trailer,
    json_payload,
)
from screencodec.wire.build import EncodedOp, build_update
from screencodec.wire.format import Op

START = 1_700_000_000.0  #: start_unix of every crafted recording
CLI = Path(sys.executable).with_name("screencodec")  #: the installed console script


def header(**changes: Any) -> dict[str, Any]:
    """A plain recording's HEADER payload, with ``changes``."""
    return {"format": FORMAT, "version": 1, "start_unix": START,
            "created": "2023-11-14T22:13:20+00:00", "sealed": False, "key": None,
            **changes}  # fmt: skip


def meta(**changes: Any) -> dict[str, Any]:
    return {"session_id": "00000000-attack", "host_id": "crafted", "peer": "192.0.2.9:7000",
            "start_unix": START, "include_keys": False, **changes}  # fmt: skip


def chunk(ctype: int, payload: bytes, index: int, time_us: int = 0, flags: int = 0,
          *, length: int | None = None) -> bytes:  # fmt: skip
    """One plain chunk (CRC trailer); ``length`` overrides the declared length."""
    head = CHUNK_HEADER.pack(CHUNK_MAGIC, ctype, flags, 0, index, time_us,
                             len(payload) if length is None else length)  # fmt: skip
    return head + payload + crc_trailer(head, payload)


def fill(width: int, height: int, rgb: int = 0x336699, *, seq: int = 0, keyframe: bool = True,
         rect: tuple[int, int, int, int] | None = None) -> bytes:  # fmt: skip
    """A wire UPDATE message: one FILL op over ``rect`` (default the frame)."""
    r = Rect(*(rect or (0, 0, width, height)))
    op = EncodedOp(Op.FILL, r, rgb.to_bytes(3, "little"))
    return build_update(seq, width, height, [op], keyframe=keyframe)


def update(message: bytes, seq: int = 0) -> bytes:
    """An UPDATE chunk's payload: the session sequence (u32 BE), then the message."""
    return seq.to_bytes(4, "big") + message


def end(duration: float = 1.0, **changes: Any) -> bytes:
    return json_payload({"reason": "ended", "end_unix": START + duration, "duration": duration,
                         "who": "", "updates": 1, "wire_bytes": 0, "checkpoints": 0,
                         **changes})  # fmt: skip


def event(ev: dict[str, Any]) -> bytes:
    return json.dumps(ev).encode()


def craft(path: Path, body: list[tuple[Any, ...]], *, head: dict[str, Any] | None = None,
          with_meta: bool = True, with_end: bool = True,
          session: dict[str, Any] | None = None) -> Path:  # fmt: skip
    """A plain recording: magic, HEADER, META (unless ``with_meta`` is False;
    ``session``: its fields instead of :func:`meta`'s), then ``body``'s chunks
    as (type, payload[, time_us[, flags]]) tuples in order, then END at the
    last chunk's time (unless ``with_end`` is False).
    Indexes and CRCs are right: whatever is wrong is what ``body`` holds."""
    chunks = [(ChunkType.HEADER, json_payload(head or header()), 0, 0)]
    if with_meta:
        chunks.append((ChunkType.META, json_payload(meta() if session is None else session), 0, 0))
    for item in body:
        ctype, payload, *rest = item
        chunks.append((ctype, payload, rest[0] if rest else 0, rest[1] if len(rest) > 1 else 0))
    if with_end:
        chunks.append((ChunkType.END, end(chunks[-1][2] / 1e6), chunks[-1][2], 0))
    data = MAGIC + b"".join(chunk(t, p, i, us, fl) for i, (t, p, us, fl) in enumerate(chunks))
    path.write_bytes(data)
    return path


def picture(width: int, height: int, t_us: int = 100_000) -> tuple[Any, ...]:
    """A keyframe UPDATE chunk (body item) filling a ``width`` x ``height`` frame."""
    return (ChunkType.UPDATE, update(fill(width, height)), t_us, ChunkFlags.KEYFRAME)


def cli(*args: object, timeout: float = 120,
        process: bool = False) -> subprocess.CompletedProcess[str]:  # fmt: skip
    """``screencodec recordings ARGS...`` as the auditor runs it: its output
    and exit status. The command's own code (``screencodec.cli.main``) runs
    in this process, its standard output and error taken as the terminal
    would get them: a process of its own cost 0.35 s of CPU to start per
    call, over 90 calls. ``process``: the installed console script in a
    process of its own, killed after ``timeout`` s (what a process alone
    shows: how it starts, its exit on a signal)."""
    argv = ["recordings", *map(str, args)]
    if process:
        return subprocess.run([str(CLI), *argv], capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    # A warning logged goes to stderr as in a process of its own (Python's
    # last-resort handler: the message alone), not only to pytest's capture.
    logged = logging.StreamHandler(err)
    logged.setLevel(logging.WARNING)
    logging.getLogger().addHandler(logged)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's errors, a command's own exit
                code = exc.code if isinstance(exc.code, int) else 1 if exc.code else 0
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
    finally:
        logging.getLogger().removeHandler(logged)
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout, done.stderr
