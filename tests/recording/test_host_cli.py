"""``screencodec host --record DIR --record-key AUDITOR.pub``: the local user's
question says the session is recorded, and the recording is sealed for the
auditor. The host's user ending it with Ctrl-C is in the audit log, as a
viewer's bye is; so is the host program stopped by SIGTERM or SIGHUP, and its
recording is complete."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from screencodec.cli.host import ENDED_BY_USER, HOST_STOPPED
from screencodec.recording import RecordingReader, generate_keypair
from screencodec.transport import VIEW, Viewer
from screencodec.transport.connect import connect_direct

from .helpers import until


async def _read_until(stream: asyncio.StreamReader, buf: list[str], pattern: str) -> str:
    while not re.search(pattern, "".join(buf)):
        chunk = await asyncio.wait_for(stream.read(4096), 30)
        if not chunk:
            raise AssertionError(f"host exited before {pattern!r}: {''.join(buf)}")
        buf.append(chunk.decode())
    return "".join(buf)


def _recorded_session(rec: Path, *record: str, stop: signal.Signals | None = None) -> None:
    """A host CLI recording into ``rec``, a viewer "Dana" shown 10 updates,
    then Dana says bye, or the host gets ``stop`` (SIGINT: the host's user
    pressed Ctrl-C)."""

    rec.mkdir(parents=True, exist_ok=True)  # --record takes a folder that is there (tail39)

    async def main() -> None:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "screencodec", "host", "--listen", "0",
            "--bind", "127.0.0.1", "--source", "synthetic", "--size", "320x200",
            "--control", "none", "--record", str(rec), *record,
            "--once", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdin is not None
        try:
            buf: list[str] = []
            text = await _read_until(proc.stdout, buf, r"Password:\s+\S+\s*\n")
            port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
            code = re.search(r"Session code: ([\d ]+)\n", text).group(1)  # type: ignore[union-attr]
            password = re.search(r"Password:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            ch = await connect_direct("127.0.0.1", port, code, password)
            viewer = Viewer(ch, who="Dana")
            started = asyncio.ensure_future(viewer.start(VIEW))
            question = await _read_until(proc.stdout, buf, r"\[y/N\]")
            assert "RECORDED" in question
            proc.stdin.write(b"y\n")
            await proc.stdin.drain()
            await started
            task = asyncio.ensure_future(viewer.run())
            await until(lambda: viewer.decoded >= 10, 30, "10 updates")
            if stop is not None:
                proc.send_signal(stop)
            else:
                await viewer.bye("done")
            await asyncio.wait_for(task, 30)
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()

    asyncio.run(main())


def test_host_cli_records_sealed(tmp_path: Path) -> None:
    generate_keypair(tmp_path / "aud.key", tmp_path / "aud.pub")
    rec = tmp_path / "rec"
    _recorded_session(rec, "--record-key", str(tmp_path / "aud.pub"))
    (path,) = rec.glob("*.screc")
    with RecordingReader(path, private_key=tmp_path / "aud.key") as r:
        assert r.sealed and r.verify().status == "complete"
        assert r.meta()["who"] == "Dana" and r.update_count >= 10
        byes = [ev for ev in r.events() if ev["type"] == "bye"]
    assert [(b["from"], b["reason"]) for b in byes] == [("viewer", "done")]


def test_host_ctrl_c_is_in_the_audit_log(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    _recorded_session(rec, stop=signal.SIGINT)
    (path,) = rec.glob("*.screc")
    with RecordingReader(path) as r:
        assert r.verify().status == "complete"
        meta, events = r.meta(), r.events()
    byes = [ev for ev in events if ev["type"] == "bye"]
    assert [b["from"] for b in byes] == ["host"], events
    # The local user's own Bye, sent before the listener closed the channel.
    assert byes[0]["reason"] == ENDED_BY_USER and ENDED_BY_USER in meta["reason"]
    assert events[-1] is byes[0] and byes[0]["t"] <= meta["duration"]


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_host_stopped_by_a_signal_says_bye_and_closes_its_recording(
        tmp_path: Path, stop: signal.Signals) -> None:
    # A logout or a closed terminal window: killed outright (the default for
    # both), the agent got no Bye and the recording stopped mid-stream.
    rec = tmp_path / "rec"
    _recorded_session(rec, stop=stop)
    (path,) = rec.glob("*.screc")
    with RecordingReader(path) as r:
        assert r.verify().status == "complete"
        meta, events = r.meta(), r.events()
    byes = [(ev["from"], ev["reason"]) for ev in events if ev["type"] == "bye"]
    assert byes == [("host", HOST_STOPPED)], events
    assert HOST_STOPPED in meta["reason"]
