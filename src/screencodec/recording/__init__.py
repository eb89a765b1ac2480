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
