"""walk42: an exported video says who had the input. Found: ``recordings
export --mp4`` of a recorded support session (the agent clicked and typed
into the customer's xterm, the customer typed too) gave a video of the
screen alone: who controlled the input was in ``--log``'s JSONL and the
web player's event list only. Now ``--srt OUT.srt`` writes it as subtitles
on the session's clock, which a player shows over ``OUT.mp4``.

A session recorded at a real host over loopback (the agent Alice moves the
pointer and types with control granted, the local user types), exported by
the real ``screencodec recordings export`` command."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

from screencodec.capture import open_source
from screencodec.recording import Recorder
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input import RecordingInjector
from warm_start import warm_run

from .helpers import until

CLI = [sys.executable, "-m", "screencodec"]
XK_a = 0x61
CUE = re.compile(r"(\d+)\n(\d\d:\d\d:\d\d,\d{3}) --> (\d\d:\d\d:\d\d,\d{3})\n(.+)\n")


def _record(rec_dir: Path) -> Path:
    async def main() -> Path:
        recorder = Recorder(rec_dir, host_id="desk7")
        source = open_source("synthetic", width=320, height=200, scenario="typing", seed=1)
        host = Host(source, consent=allow(), recorder=recorder, injector=RecordingInjector(),
                    config=HostConfig(local_input_pause=0.01))  # fmt: skip
        creds = SessionCredentials()
        async with await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            alice = Viewer(ch, who="Alice")
            await alice.start(VIEW | CONTROL)
            task = asyncio.ensure_future(alice.run())
            await until(lambda: alice.decoded >= 5, what="the first updates")
            await alice.pointer_move(10, 10)
            await alice.key(XK_a, True, "a")
            await alice.key(XK_a, False, "a")
            await asyncio.sleep(0.3)
            host.local_input_activity("keyboard")  # the customer types
            await until(lambda: alice.decoded >= 20, what="20 updates")
            await alice.bye("done")
            await task
            (done,) = await asyncio.to_thread(recorder.wait, 2)
        await host.close()
        return Path(done.path)

    return asyncio.run(asyncio.wait_for(main(), 60))


def test_export_writes_who_had_the_input_as_subtitles(tmp_path: Path) -> None:
    path = _record(tmp_path / "rec")
    mp4, srt = tmp_path / "session.mp4", tmp_path / "session.srt"
    args = ["recordings", "export", str(path), "--mp4", str(mp4), "--srt", str(srt)]
    done = warm_run([*CLI, *args], check=False, capture_output=True, text=True,
                    timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr  # found: --srt unrecognized, status 2
    assert re.search(rf"^{re.escape(str(srt))}: \d+ subtitles \(who had the input\)$",
                     done.stdout, re.M), done.stdout  # fmt: skip
    text = srt.read_text()
    cues = CUE.findall(text)
    assert [int(c[0]) for c in cues] == list(range(1, len(cues) + 1)), text
    said = [c[3] for c in cues]
    assert "control granted to agent 'Alice'" in said, said
    assert "pointer: agent 'Alice'" in said and "keyboard: agent 'Alice'" in said, said
    assert "keyboard: the local user" in said, said
    assert [c[1] for c in cues] == sorted(c[1] for c in cues), text  # in time order
    # Within the video's time.
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "default=nw=1:nk=1", str(mp4)],
                           check=True, capture_output=True, text=True, timeout=30)  # fmt: skip
    length = float(probe.stdout)
    h, m_, s = cues[-1][1].replace(",", ".").split(":")
    assert int(h) * 3600 + int(m_) * 60 + float(s) <= length, (text, length)
