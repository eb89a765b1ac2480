"""SIGKILL the recording host mid-session (a real process): the file plays up
to the kill, bit-exact against what the viewer saw, and ``verify`` says where
it ends."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from screencodec.cli.main import main as cli
from screencodec.frames import framebuffer_hash
from screencodec.recording import Player, RecordingReader
from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .helpers import RememberingDecoder, until

HOST = """
import asyncio, sys
from screencodec.capture import open_source
from screencodec.recording import CheckpointPolicy, Recorder
from screencodec.transport import Host, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import listen_direct

async def main():
    rec = Recorder(sys.argv[1], checkpoints=CheckpointPolicy(budget=0.0, min_interval=0.2))
    src = open_source("synthetic", width=320, height=200, scenario="terminal", seed=4)
    host = Host(src, consent=allow(), recorder=rec)
    creds = SessionCredentials()
    listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
    print(listener.port, creds.code, creds.password, sep="\\t", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


def watch_then_kill(
    proc: subprocess.Popen[str], dec: RememberingDecoder, ready: Callable[[Viewer], bool],
    what: str,
) -> None:
    """Join the host ``proc`` printed (port, code, password on its first
    line) as a viewer decoding with ``dec``; SIGKILL it once ``ready(viewer)``;
    wait until the viewer sees it vanish. The process is reaped in any case."""
    try:
        assert proc.stdout is not None
        port, code, password = proc.stdout.readline().rstrip("\n").split("\t")

        async def session() -> None:
            ch = await connect_direct("127.0.0.1", int(port), code, password)
            viewer = Viewer(ch, who="Carol", decoder=dec)
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: ready(viewer), 30, what)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            await asyncio.wait_for(task, 10)  # the viewer sees the host vanish

        asyncio.run(session())
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_sigkill_mid_session(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOST, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    dec = RememberingDecoder()
    watch_then_kill(proc, dec, lambda viewer: viewer.decoded >= 30, "30 updates")
    (path,) = tmp_path.glob("*.screc")
    with RecordingReader(path) as reader:
        report = reader.verify()
        assert report.status == "incomplete" and not reader.complete
        played = [framebuffer_hash(fb) for _, fb in Player(reader).frames()]
        # Everything written before the kill plays and is what the viewer saw
        # (the last one recorded may not have left the host: the common prefix).
        n = min(len(played), len(dec.hashes))
        assert len(played) >= 20 and n >= 20
        assert played[:n] == dec.hashes[:n]
        assert reader.meta()["reason"] == "incomplete" and reader.meta()["peer"]
    capsys.readouterr()
    assert cli(["recordings", "verify", str(path)]) == 2
    out = capsys.readouterr().out
    assert "incomplete" in out and f"t={report.duration:.3f} s" in out
