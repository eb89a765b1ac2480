"""Seek points for a history viewer: the recorder asks the session's streamer
for them, the encoder restarts its streams and hands over its reference, and
the player seeks from those checkpoints instead of the join keyframe, to
exactly the framebuffer the viewer had."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np

from screencodec.capture import open_source
from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.encoder import ScreenEncoder
from screencodec.frames import framebuffer_hash
from screencodec.recording import CheckpointPolicy, Player, Recorder, RecordingReader
from screencodec.transport import VIEW, Host, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session import messages as m
from screencodec.wire import Op, parse_update, split_message

from .helpers import RememberingDecoder, until

#: Seek points as often as the test can use them.
EAGER = CheckpointPolicy(min_interval=0.0, max_updates=6)


def test_history_viewer_seeks_from_the_encoders_seek_points(tmp_path: Path) -> None:
    async def main() -> tuple[Path, list[int], int]:
        recorder = Recorder(tmp_path / "rec", host_id="test-host", checkpoints=EAGER)
        source = open_source("synthetic", width=320, height=200, scenario="terminal", seed=4)
        host = Host(source, consent=allow(), recorder=recorder)
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        async with listener:
            dec = RememberingDecoder()
            ch: Any = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
            viewer = Viewer(ch, who="Alice", decoder=dec)  # the default: history stream
            await viewer.start(VIEW)
            task = asyncio.ensure_future(viewer.run())
            (session,) = recorder.sessions
            await until(lambda: session.seek_points >= 3 and viewer.decoded >= 30,
                        what="three seek points")  # fmt: skip
            await viewer.bye("done")
            await task
            (done,) = await asyncio.to_thread(recorder.wait, 1)
        await host.close()
        return done.path, dec.hashes, done.seek_points

    path, hashes, seek_points = asyncio.run(asyncio.wait_for(main(), 60))
    with RecordingReader(path) as reader:
        assert reader.verify().status == "complete"
        n = len(hashes)
        assert n <= reader.update_count <= n + 2
        # The viewer's stream is the history stream, and it keeps going across
        # the seek points (ZSTREAM ops after each, some without RESET).
        streamed = [o for i in range(n) for o in parse_update(
            split_message(reader.update(i)[1])[1]).ops if o.op is Op.ZSTREAM]  # fmt: skip
        assert streamed and any(o.flags == 0 for o in streamed)
        ordinals = [o for o, _ in reader.index.checkpoints]
        # The recording may hold up to 2 updates the viewer had not decoded
        # when it left (above), and a seek point among them (found once in a
        # fresh clone's run at -n 4): only decoded ones are compared.
        assert len(ordinals) == seek_points >= 3
        assert all(0 < o < reader.update_count for o in ordinals), (ordinals, n)
        first, last = ordinals[0], ordinals[-1]
        targets = sorted(t for t in {first, last - 1, last, n - 1, (n + first) // 2} if t < n)
        same = Player(reader)
        for i in reversed(targets):  # backwards too, from one player
            t = reader.update_time(i)
            if i + 1 < reader.update_count and reader.update_time(i + 1) == t:
                continue  # two updates at one microsecond: the later one shows
            for player in (Player(reader), same):
                fb = player.frame_at(t)
                assert fb is not None and framebuffer_hash(fb) == hashes[i], f"update {i}"
            fresh = Player(reader)
            fresh.frame_at(t)
            start = fresh.started_from
            assert start is not None
            if i + 1 >= first:
                assert start[1] and start[0] > 0, f"update {i} replayed from the join keyframe"
                assert fresh.decoded <= i + 1 - first


def _msg(seq: int, data: bytes) -> bytes:
    return m.encode(m.Update(seq, data))


def test_seek_point_checkpoint_matches_only_its_own_update(tmp_path: Path) -> None:
    """Fed by hand (as the streamer does): a seek point becomes a checkpoint
    before the update it was made for; one that meets another update (or a
    keyframe) is dropped, and a player never starts from it."""
    src = SyntheticDesktop(320, 200, scenario="terminal", seed=5)
    enc = ScreenEncoder(320, 200, history=True, threads=1)
    rec = Recorder(tmp_path, host_id="t", checkpoints=CheckpointPolicy(enabled=True))
    session = rec.start("hand")
    fbs = []
    for i in range(12):
        at = session.t0 + i
        if i == 4:  # a good seek point
            enc.restart_streams()
            ref = np.array(enc.reference)
        if i == 8:  # a stale one: the sequence is the one before
            session.seek_point(np.array(enc.reference), enc.last.sequence, at=at)
        data = enc.encode(src.frame_at(i))
        if i == 4:
            session.seek_point(ref, enc.last.sequence, at=at)
        session.put("out", _msg(i + 1, data), at=at)
        fbs.append(framebuffer_hash(enc.reference))
    session.end("done", at=session.t0 + 12)
    assert session.join(20)
    assert session.seek_points == 1
    with RecordingReader(session.path) as reader:
        assert [o for o, _ in reader.index.checkpoints] == [4]
        for i in (4, 6, 11):
            player = Player(reader)
            fb = player.frame_after(i + 1)
            assert fb is not None and framebuffer_hash(fb) == fbs[i]
            assert player.started_from == (4, True) and player.decoded == i + 1 - 4
    enc.close()
