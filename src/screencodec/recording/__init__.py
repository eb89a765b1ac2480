"""Session recordings: crash-safe ``.screc`` files of the wire stream, the audit
log on the same timeline, sealing for an auditor, retention, playback, export.

* :class:`Recorder`: ``Host(..., recorder=Recorder(dir, auditor=...))`` writes
  one recording per viewer session;
* :class:`RecordingReader`, :class:`Player`, :class:`RecordingSource`: index,
  verify, seek, replay (also as a frame source);
* :func:`prune` with a :class:`RetentionPolicy`; :func:`generate_keypair`
  (auditor), :func:`generate_host_keypair` and :func:`load_pinned_hosts`
  (host-signed recordings, :mod:`.sign`);
* :mod:`.export`: MP4 (PyAV), PNG screenshots, the JSONL audit log.

The format is specified in docs/recording.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from screencodec._lazy import lazy_names

if TYPE_CHECKING:
    from screencodec.recording.crypto import generate_keypair, load_private_key, load_public_key
    from screencodec.recording.format import FORMAT, FORMAT_VERSION, ChunkType
    from screencodec.recording.player import Player, RecordingSource
    from screencodec.recording.reader import RecordingReader, VerifyReport
    from screencodec.recording.recorder import CheckpointPolicy, Recorder, SessionRecorder
    from screencodec.recording.retention import RetentionPolicy, parse_size, prune
    from screencodec.recording.sign import (
        generate_host_keypair,
        load_host_private_key,
        load_host_public_key,
        load_pinned_hosts,
    )

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "CheckpointPolicy",
    "ChunkType",
    "Player",
    "Recorder",
    "RecordingReader",
    "RecordingSource",
    "RetentionPolicy",
    "SessionRecorder",
    "VerifyReport",
    "generate_host_keypair",
    "generate_keypair",
    "load_host_private_key",
    "load_host_public_key",
    "load_pinned_hosts",
    "load_private_key",
    "load_public_key",
    "parse_size",
    "prune",
]

#: Each name imported from its module on first use (_lazy): ``recordings
#: list`` reads the format and the reader, not the player (numpy, 0.15 s of
#: CPU) or the recorder (startup37).
_LAZY = {
    "CheckpointPolicy": ".recorder",
    "ChunkType": ".format",
    "FORMAT": ".format",
    "FORMAT_VERSION": ".format",
    "Player": ".player",
    "Recorder": ".recorder",
    "RecordingReader": ".reader",
    "RecordingSource": ".player",
    "RetentionPolicy": ".retention",
    "SessionRecorder": ".recorder",
    "VerifyReport": ".reader",
    "generate_host_keypair": ".sign",
    "generate_keypair": ".crypto",
    "load_host_private_key": ".sign",
    "load_host_public_key": ".sign",
    "load_pinned_hosts": ".sign",
    "load_private_key": ".crypto",
    "load_public_key": ".crypto",
    "parse_size": ".retention",
    "prune": ".retention",
}

if not TYPE_CHECKING:  # mypy reads the imports above (_lazy)
    __getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
