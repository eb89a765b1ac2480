"""A real session recorded at the host over loopback: two viewers (one with
the history stream, one without), replay bit-exact against what each viewer
decoded, seek to any time, and the audit log of a scripted session."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from pathlib import Path
from typing import Any

from screencodec.capture import open_source
from screencodec.frames import framebuffer_hash
from screencodec.recording import CheckpointPolicy, Player, Recorder, RecordingReader
from screencodec.transport import CONTROL, VIEW, Host, HostConfig, Viewer, allow
from screencodec.transport.channel.codes import SessionCredentials
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.input import RecordingInjector
from screencodec.transport.session import messages as m
from screencodec.transport.session.permissions import ConsentRequest, Grant
from screencodec.wire import Op

from .helpers import RememberingDecoder, until

XK_a = 0x61


def _plain_caps() -> m.Capabilities:
    """A viewer without the history stream and video: every update then
    depends on the framebuffer only, so the recorder can write checkpoints."""
    full = m.Capabilities.full()
    ops = full.ops & ~(1 << Op.ZSTREAM) & ~(1 << Op.VIDEO)
    return dataclasses.replace(full, ops=ops, video=0, max_cache=0)


def test_recorded_session_replays_bit_exact_and_seeks(tmp_path: Path) -> None:
    rec_dir, downloads = tmp_path / "rec", tmp_path / "dl"
    downloads.mkdir()
    sent_file = tmp_path / "report.txt"
    sent_file.write_bytes(b"hello auditor\n" * 1000)
    questions: list[ConsentRequest] = []

    async def consent(request: ConsentRequest) -> Grant:
        questions.append(request)
        return await allow()(request)

    async def accept_files(info: object) -> bool:
        return True

    async def main() -> None:
        recorder = Recorder(
            rec_dir, host_id="test-host",
            checkpoints=CheckpointPolicy(budget=0.0, min_interval=0.2),
        )  # fmt: skip
        source = open_source("synthetic", width=320, height=200, scenario="typing", seed=1)
        # An injector: a host without one is view only and refuses control unasked.
        host = Host(source, consent=consent, recorder=recorder, file_consent=accept_files,
                    injector=RecordingInjector(),
                    config=HostConfig(download_dir=downloads, local_input_pause=0.01))
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        async with listener:
            decs = [RememberingDecoder(), RememberingDecoder()]
            viewers = []
            at_viewer = Recorder(tmp_path / "viewer-side", host_id="bob's laptop")
            for name, dec, caps in (("Alice", decs[0], None), ("Bob", decs[1], _plain_caps())):
                ch: Any = await connect_direct(
                    "127.0.0.1", listener.port, creds.code, creds.password)
                if name == "Bob":  # Bob records too, at his end
                    ch = at_viewer.record_viewer(ch, "Bob")
                viewers.append(Viewer(ch, who=name, decoder=dec, capabilities=caps))
            alice, bob = viewers
            await alice.start(VIEW | CONTROL)
            await bob.start(VIEW)
            tasks = [asyncio.ensure_future(v.run()) for v in viewers]
            await until(lambda: alice.decoded >= 10, what="alice's first updates")
            # A scripted session for the audit log.
            await alice.pointer_move(10, 10)
            await alice.key(XK_a, True, "a")
            await alice.key(XK_a, False, "a")
            await alice.chat("hi, Alice here")
            await host.send_chat("hello Alice", peer=host.viewers[0])
            assert await alice.send_file(sent_file)
            host.local_input_activity()
            host.local_input_activity("keyboard")  # what the X11 press watcher says
            await until(lambda: bob.decoded >= 40 and alice.decoded >= 40, what="40 updates")
            for v in viewers:
                await v.bye("done")
            await asyncio.gather(*tasks)
            done = await asyncio.to_thread(recorder.wait, 2)
        await host.close()
        await asyncio.to_thread(at_viewer.close)
        assert len(done) == 2
        assert all(q.recorded for q in questions), "the local user is told"
        assert "RECORDED" in questions[0].describe()
        by_who = {s.audit.who: s for s in done}
        _check_replay(by_who["Alice"].path, decs[0].hashes, expect_checkpoints=False)
        _check_replay(by_who["Bob"].path, decs[1].hashes, expect_checkpoints=True)
        _check_audit(by_who["Alice"].path, hashlib.sha256(sent_file.read_bytes()).hexdigest())
        (bob_side,) = at_viewer.finished
        with RecordingReader(bob_side.path) as mine, RecordingReader(by_who["Bob"].path) as host:
            n = min(mine.update_count, host.update_count)
            assert n >= len(decs[1].hashes) - 1
            assert [mine.update(i) for i in range(n)] == [host.update(i) for i in range(n)]

    asyncio.run(asyncio.wait_for(main(), 60))


def _check_replay(path: Path, viewer_hashes: list[int], *, expect_checkpoints: bool) -> None:
    with RecordingReader(path) as reader:
        report = reader.verify()
        assert report.status == "complete", report.describe()
        # Updates sent while the viewer was saying bye are recorded, not shown.
        n = len(viewer_hashes)
        assert n <= reader.update_count <= n + 2
        assert bool(reader.index.checkpoints) == expect_checkpoints
        played = [framebuffer_hash(fb) for _, fb in Player(reader).frames()]
        assert played[:n] == viewer_hashes
        # Seek: at each update's time, and between two updates, in a scrambled
        # order, from a fresh player each time and from the same one.
        same = Player(reader)
        for i in [n - 1, 3, n // 2, 0, n - 2, 7, n // 3]:
            t = reader.update_time(i)
            later = reader.update_time(i + 1) if i + 1 < reader.update_count else t + 1.0
            if later == t:
                continue  # two updates at one microsecond: the later one shows
            for player in (Player(reader), same):
                assert framebuffer_hash(player.frame_at(t)) == viewer_hashes[i]
                assert framebuffer_hash(player.frame_at((t + later) / 2)) == viewer_hashes[i]
        if expect_checkpoints:
            fresh = Player(reader)
            fresh.frame_at(reader.update_time(n - 1))
            assert fresh.decoded < n - 1, "a checkpoint shortened the replay"


def _check_audit(path: Path, file_sha: str) -> None:
    with RecordingReader(path) as reader:
        meta = reader.meta()
        events = reader.events()
    assert meta["host_id"] == "test-host" and meta["who"] == "Alice"
    assert meta["reason"].startswith("viewer said bye") and meta["duration"] > 0
    kinds = [e["type"] for e in events]
    assert kinds[0] == "hello" and events[0]["who"] == "Alice"
    consent = next(e for e in events if e["type"] == "consent")
    assert consent["answer"] == consent["asked"] == "view+control"
    assert any(e["type"] == "grant" and e["level"] == "view+control" for e in events)
    intervals = {(e["who"], e["device"]) for e in events if e["type"] == "input"}
    assert {("agent", "pointer"), ("agent", "keyboard"), ("local", "input"),
            ("local", "keyboard")} <= intervals  # fmt: skip
    chats = [(e["from"], e["text"]) for e in events if e["type"] == "chat"]
    assert sorted(chats) == [("host", "hello Alice"), ("viewer", "hi, Alice here")]
    (f,) = [e for e in events if e["type"] == "file"]
    assert f == {**f, "name": "report.txt", "size": 14000, "sha256": file_sha,
                 "direction": "to-host", "answer": "accepted", "sha256_matches": True}
    assert "key" not in kinds, "keystroke text only when enabled"
    assert [e["t"] for e in events] == sorted(e["t"] for e in events)


def test_a_listener_closed_without_a_bye_is_logged_as_the_hosts_bye(tmp_path: Path) -> None:
    """A library host that closes its listener (not ``host.disconnect``): no
    Bye crosses the connection, and the audit log still ends with the host's
    ``bye``, its reason the session's END reason. A viewer's own Bye before
    that is the only one logged (the fallback never adds a second)."""

    async def session(viewer_says_bye: bool) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rec_dir = tmp_path / f"rec-{viewer_says_bye}"
        recorder = Recorder(rec_dir, host_id="test-host")
        source = open_source("synthetic", width=320, height=200, scenario="typing", seed=1)
        host = Host(source, consent=allow(), recorder=recorder)
        creds = SessionCredentials()
        listener = await listen_direct("127.0.0.1", 0, creds, host.serve)
        ch = await connect_direct("127.0.0.1", listener.port, creds.code, creds.password)
        viewer = Viewer(ch, who="Alice")
        await viewer.start(VIEW)
        task = asyncio.ensure_future(viewer.run())
        await until(lambda: viewer.decoded >= 3, what="first updates")
        if viewer_says_bye:
            await viewer.bye("done")
        else:
            await listener.close()
        await asyncio.wait_for(task, 20)
        (done,) = await asyncio.to_thread(recorder.wait, 1)
        await listener.close()
        await host.close()
        with RecordingReader(done.path) as r:
            return r.meta(), r.events()

    meta, events = asyncio.run(asyncio.wait_for(session(False), 60))
    byes = [ev for ev in events if ev["type"] == "bye"]
    assert [(b["from"], b["reason"]) for b in byes] == [("host", meta["reason"])], events
    assert events[-1] is byes[0]
    meta, events = asyncio.run(asyncio.wait_for(session(True), 60))
    assert [(ev["from"], ev["reason"]) for ev in events if ev["type"] == "bye"] == [
        ("viewer", "done")]
