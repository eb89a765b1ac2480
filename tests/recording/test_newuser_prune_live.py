"""``recordings prune`` beside a live host: the recording of the session under
way is left alone (it was deleted, and the host went on writing into a file
no longer in the directory: the session's recording was lost), and ``list``
and ``verify`` say it is being recorded, not just cut short. Real host, view and recordings
processes on loopback."""

from __future__ import annotations

import signal
from pathlib import Path

from transport.test_cli import answer_when_asked, start_host
from transport.test_view_cli_ux import read_until, stop, viewer

from .helpers import recordings_cli


def test_prune_leaves_the_live_sessions_recording_alone(tmp_path: Path) -> None:
    rec = tmp_path / "rec"
    rec.mkdir()
    host, code, password, port = start_host("--record", str(rec))
    view = viewer(f"127.0.0.1:{port}", "--code", code, "--password", password)
    try:
        answer_when_asked(host)
        read_until(view, "[view] 320x240 decoded")
        (live,) = rec.glob("*.screc")
        pruned = recordings_cli("prune", rec, "--max-size", "1K")
        assert pruned.returncode == 0, pruned.stderr
        assert live.exists(), pruned.stdout
        listed = recordings_cli("list", rec)
        assert " recording " in listed.stdout.splitlines()[1], listed.stdout
        verified = recordings_cli("verify", live)
        assert verified.returncode == 2, verified
        assert verified.stdout.endswith("; a host is still writing it: verify it once its"
                                        " session has ended\n"), verified.stdout  # fmt: skip
        view.send_signal(signal.SIGINT)
        view.communicate(timeout=30)
        assert host.wait(timeout=30) == 0
    finally:
        stop(view)
        stop(host)
    done = recordings_cli("verify", live)
    assert done.returncode == 0 and ": complete: " in done.stdout, done
    # Once the host has closed it, prune deletes it like any other.
    assert recordings_cli("prune", rec, "--max-size", "1K").returncode == 0
    assert not live.exists()
