"""Session recording at 1080p: what it costs the host, what it costs on disk,
how fast a 1-hour recording seeks, how fast it exports to MP4.

* **Overhead**: a host's send path (encode + hand the message to the
  recorder) with and without a recorder, in alternating runs over the same
  deterministic synthetic desktop, paced at 30 fps like a host; the session's
  own encoder (``session_encoder``: history, video, lossy as a full viewer
  gets). Target: under 3 % (ratio of the mean per-update times). The
  recorder's worker thread CPU is reported beside it.
* **Bytes on disk per hour** against the wire bytes, per scenario, deltas
  only (the join keyframe apart), from the same runs; checkpoints from the
  1-hour recording below.
* **Seek** in a synthesised 1-hour 1080p typing recording (an update every
  0.5 s, 7200 updates; default policy), for a viewer without the history
  stream (checkpoints from the recorder's decoding) and for the default
  viewer (history stream: checkpoints from the encoder's seek points, asked
  for as the session's streamer does): open + index, then seeks to random
  times, each from a fresh player. Target: under 0.5 s. Beside it, replaying
  the whole hour (what a seek costs without any seek point), and for the
  history viewer what the seek points cost on the wire: the same hour
  encoded by a second encoder that never restarts.
* **MP4 export**: the first 30 s of that recording at 10 fps, as x real time.

Run: ``pytest benchmarks/test_bench_recording.py -s`` (about 2-3 minutes).
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from screencodec.capture import open_source
from screencodec.decoder import ScreenDecoder
from screencodec.encoder import ScreenEncoder
from screencodec.recording import CheckpointPolicy, Player, Recorder, RecordingReader
from screencodec.recording.export import export_mp4
from screencodec.transport.session import messages as m
from screencodec.transport.session.encoding import session_encoder

W, H = 1920, 1080
FPS = 30.0
FRAMES = 60  # per run
REPS = 4  # runs per variant, alternating
SCENARIOS = ["typing", "terminal", "browser"]
HOUR_STEP = 0.5  # seconds between updates in the synthesised hour
HOUR = 3600.0
#: The recordings seeked in: (viewer, scenario, seconds, seconds between
#: updates). A busy one too: a 1080p terminal at 30 fps for 10 minutes (what
#: a seek replays depends on the seek points' spacing, not on the length).
RECORDINGS = [("plain", "typing", HOUR, HOUR_STEP), ("history", "typing", HOUR, HOUR_STEP),
              ("history", "terminal", 600.0, 1 / FPS)]  # fmt: skip


def _run(scenario: str, recorder: Recorder | None) -> dict[str, Any]:
    """One paced run: mean send-path time per update, wire bytes (deltas)."""
    src = open_source("synthetic", width=W, height=H, scenario=scenario, seed=0)
    enc = session_encoder(W, H)
    session = recorder.start(scenario) if recorder is not None else None
    times: list[float] = []
    wire = first = 0
    t_next = time.monotonic()
    for i in range(FRAMES):
        frame = src.grab()
        t0 = time.perf_counter()
        data = enc.encode(frame)
        last = getattr(enc, "last", None)
        empty = i > 0 and last is not None and not last.keyframe and not last.ops
        msg = m.encode(m.Update(i + 1, data))
        if session is not None and not empty:  # a host sends no empty update
            session.put("out", msg)
        dt = time.perf_counter() - t0
        if i == 0:
            first = len(msg)
        else:
            times.append(dt)
            wire += 0 if empty else len(msg)
        t_next += 1 / FPS
        time.sleep(max(0.0, t_next - time.monotonic()))
    enc.close()
    out: dict[str, Any] = {"mean": statistics.fmean(times), "wire": wire, "first": first}
    if session is not None and recorder is not None:
        session.end("benchmark")
        session.join(60)
        with RecordingReader(session.path) as reader:  # the updates' chunks, deltas only
            out["disk"] = sum(24 + h.length + 4 for h in reader.index.chunks[
                reader.index.updates[1] :])  # fmt: skip
        out["cpu"] = session.cpu_seconds
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_recording_overhead_and_bytes(scenario: str, benchmark: Any) -> None:
    def work() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as d:
            rec = Recorder(d, host_id="bench")
            plain, recorded = [], []
            for k in range(REPS):  # ABBA: drifting load hits both alike
                for with_rec in (k % 2 == 1, k % 2 == 0):
                    (recorded if with_rec else plain).append(
                        _run(scenario, rec if with_rec else None))
            rec.close()
        base = statistics.fmean(r["mean"] for r in plain)
        with_rec = statistics.fmean(r["mean"] for r in recorded)
        r = recorded[-1]
        seconds = (FRAMES - 1) / FPS
        wire_h = r["wire"] / seconds * 3600 / 1e6
        disk_h = r["disk"] / seconds * 3600 / 1e6
        return {
            "ratio": with_rec / base, "base_ms": base * 1e3, "rec_ms": with_rec * 1e3,
            "wire_mb_per_h": wire_h, "disk_mb_per_h": disk_h,
            "recorder_cpu_ms_per_update": r["cpu"] / FRAMES * 1e3,
        }  # fmt: skip

    res = benchmark.pedantic(work, rounds=1, iterations=1)
    benchmark.extra_info.update(res)
    print(f"\n| {scenario} | {res['base_ms']:.2f} ms | {res['rec_ms']:.2f} ms | "
          f"{res['ratio']:.3f} | {res['recorder_cpu_ms_per_update']:.2f} ms | "
          f"{res['wire_mb_per_h']:.1f} | {res['disk_mb_per_h']:.1f} |")  # fmt: skip


@pytest.mark.parametrize("viewer", ["history", "plain"])
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_recorder_cpu_per_update(scenario: str, viewer: str, benchmark: Any) -> None:
    """The recorder worker's own CPU per delta update (thread CPU of a session
    of 400 updates minus one of the join keyframe alone, medians of 3; no
    checkpoints), and
    the encoder's CPU per update for scale."""
    src = open_source("synthetic", width=W, height=H, scenario=scenario, seed=0)
    enc = session_encoder(W, H) if viewer == "history" else ScreenEncoder(W, H)
    msgs, enc_s = [], 0.0
    for i in range(400):
        frame = src.grab()
        t0 = time.thread_time()
        msgs.append(m.encode(m.Update(i + 1, enc.encode(frame))))
        enc_s += time.thread_time() - t0 if i else 0.0
    enc.close()

    def work() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as d:
            rec = Recorder(d, checkpoints=CheckpointPolicy(budget=1e9, soft_budget=1e9))
            cpu: dict[int, list[float]] = {len(msgs): [], 1: []}
            for _ in range(3):  # medians: the join session's CPU varies by a few ms
                for batch in (msgs, msgs[:1]):
                    session = rec.start(f"{len(batch)}")
                    for i, msg in enumerate(batch):
                        session.put("out", msg, at=session.t0 + i / FPS)
                    session.end("benchmark", at=session.t0 + len(batch) / FPS)
                    session.join(120)
                    cpu[len(batch)].append(session.cpu_seconds)
        full, join = statistics.median(cpu[len(msgs)]), statistics.median(cpu[1])
        per = (full - join) / (len(msgs) - 1)
        return {"worker_us": per * 1e6, "join_ms": join * 1e3,
                "encode_ms": enc_s / (len(msgs) - 1) * 1e3}  # fmt: skip

    res = benchmark.pedantic(work, rounds=1, iterations=1)
    res["share"] = res["worker_us"] / 1e3 / res["encode_ms"]
    benchmark.extra_info.update(res)
    print(f"\n{viewer} {scenario}: worker {res['worker_us']:.0f} us per update "
          f"(+{res['join_ms']:.0f} ms for the join keyframe), encode {res['encode_ms']:.2f} ms "
          f"CPU per update: {res['share'] * 100:.1f} %")


@pytest.fixture(scope="module", params=RECORDINGS, ids=["-".join(r[:2]) for r in RECORDINGS])
def hour(request: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A 1-hour 1080p typing recording, synthesised at recording speed: for a
    viewer without the history stream ("plain": checkpoints), and with it
    (the default viewer: the recorder asks for seek points, and this loop
    answers like session/streaming.py does)."""
    kind, scenario, duration, step = request.param
    d = tmp_path_factory.mktemp("hour")
    rec = Recorder(d, host_id="bench", checkpoints=CheckpointPolicy())
    session = rec.start(f"{scenario}-hour")
    src = open_source("synthetic", width=W, height=H, scenario=scenario, seed=0)
    history = kind == "history"
    enc = ScreenEncoder(W, H, history=history)
    # The same stream without seek points: what they cost on the wire.
    plain_enc = ScreenEncoder(W, H, history=True) if history else None
    n = int(duration / step)
    wire = wire_without = restarts = 0
    t0 = time.perf_counter()
    for i in range(n):
        frame = src.grab()
        seek = session.seek_point_wanted and i > 0
        if seek:
            enc.restart_streams()
            ref = enc.reference.copy()
            restarts += 1
        msg = m.encode(m.Update(i + 1, enc.encode(frame)))
        if seek:
            session.seek_point(ref, enc.last.sequence, at=session.t0 + i * step)
        if plain_enc is not None:
            wire_without += len(m.encode(m.Update(i + 1, plain_enc.encode(frame))))
        wire += len(msg)
        session.put("out", msg, at=session.t0 + i * step)
    session.end("benchmark", at=session.t0 + duration)
    session.join(600)
    enc.close()
    if plain_enc is not None:
        plain_enc.close()
    info = {"updates": n, "wire": wire, "disk": session.path.stat().st_size,
            "checkpoints": session.checkpoints, "checkpoint_bytes": session.checkpoint_bytes,
            "seek_points": session.seek_points, "restarts": restarts,
            "restart_wire_bytes": wire - wire_without if history else 0,
            "synth_s": time.perf_counter() - t0, "kind": kind, "scenario": scenario,
            "duration": duration}  # fmt: skip
    return session.path, info


def test_seek_one_hour(hour: tuple[Path, dict[str, Any]], benchmark: Any) -> None:
    path, info = hour

    def work() -> dict[str, Any]:
        rng = random.Random(7)
        t0 = time.perf_counter()
        reader = RecordingReader(path)
        open_s = time.perf_counter() - t0
        seeks = []
        from_checkpoint = 0
        for _ in range(20):
            t = rng.uniform(0, info["duration"])
            t0 = time.perf_counter()
            player = Player(reader)
            assert player.frame_at(t) is not None
            seeks.append(time.perf_counter() - t0)
            from_checkpoint += bool(player.started_from and player.started_from[1])
        t0 = time.perf_counter()
        dec = ScreenDecoder()
        for i in range(reader.update_count):
            dec.decode(reader.update(i)[1])
        full = time.perf_counter() - t0
        reader.close()
        return {"open_s": open_s, "seek_median_s": statistics.median(seeks),
                "seek_max_s": max(seeks), "replay_hour_s": full,
                "seeks_from_checkpoint": from_checkpoint}  # fmt: skip

    res = benchmark.pedantic(work, rounds=1, iterations=1)
    res.update(info)
    benchmark.extra_info.update(res)
    print(f"\n{info['duration'] / 60:.0f} min 1080p {info['scenario']} ({info['kind']}): "
          f"{info['updates']} updates, "
          f"wire {info['wire'] / 1e6:.1f} MB, disk {info['disk'] / 1e6:.1f} MB "
          f"({info['checkpoints']} checkpoints, "
          f"{info['checkpoint_bytes'] / 1e6:.1f} MB); open {res['open_s'] * 1e3:.0f} ms, seek "
          f"median {res['seek_median_s'] * 1e3:.0f} ms, max {res['seek_max_s'] * 1e3:.0f} ms; "
          f"full replay {res['replay_hour_s']:.1f} s; synthesis {info['synth_s']:.0f} s; "
          f"{res['seeks_from_checkpoint']}/20 seeks from a checkpoint; seek points "
          f"{info['seek_points']} ({info['restarts']} asked), restarts cost "
          f"{info['restart_wire_bytes']} wire bytes in all")


def test_mp4_export_speed(hour: tuple[Path, dict[str, Any]], benchmark: Any) -> None:
    path, info = hour
    if info["kind"] != "plain" or info["scenario"] != "typing":
        pytest.skip("measured once")
    seconds = 30.0

    def work() -> dict[str, Any]:
        with tempfile.TemporaryDirectory() as d, RecordingReader(path) as reader:
            t0 = time.perf_counter()
            res = export_mp4(reader, Path(d) / "out.mp4", fps=10.0, seconds=seconds)
            res["wall_s"] = time.perf_counter() - t0
        res["x_realtime"] = seconds / res["wall_s"]
        return res

    res = benchmark.pedantic(work, rounds=1, iterations=1)
    benchmark.extra_info.update(res)
    print(f"\nMP4 export, 1080p, 10 fps: {res['frames']} frames in {res['wall_s']:.1f} s = "
          f"{res['x_realtime']:.1f}x real time, {res['bytes'] / 1e3:.0f} kB")
