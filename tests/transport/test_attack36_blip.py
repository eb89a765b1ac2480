"""attack36: an on-path attacker with a copy of the ticket an agent just
took its session up with (attack36_blip_run.py, in a network namespace of
its own: root, iproute2). The agent is there all along, reading (its
channel answers probes); its answer to the first update and then its
whole path are dropped for 1.5 s, and meanwhile the attacker presents the
copy.

Expected: the attacker is asked about (the host's user says no) and the
agent keeps its session, as before takeover36 (measured on f83075e^:
refused after 5.06 s, the user asked a 2nd time, the agent's link
untouched). To find a black-holed link lost, and so park the session that
copy resumes unasked, the host needed its channel's ``idle`` (45 s) of
silence; the agent's own channel gives up after ``unanswered`` (10 s) and
comes back with its ticket. takeover36's probe takes 1 s of silence for a
dead link (session/silent.py), which it cannot tell from a dropped one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


#: What the copy comes with (attack36_blip_run.py's argument).
MODES = ("copy", "other link", "replayed")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("ip"),
                    reason="needs root and iproute2 (a network namespace)")  # fmt: skip
def test_a_replayed_ticket_does_not_take_a_live_session_over_a_moment_of_dropped_packets(
) -> None:  # fmt: skip
    """Found before pop36 (copy): granted view+control unasked after 1.08-1.31 s, the
    agent's link reset once its path was back. Now the silent take-over needs a proof
    made with the live link's key for this connection (session/proof.py): the bytes
    alone, a proof with another link's key, or one made for another connection wait
    the whole settle wait (5 s; 3 s here) and are asked about.

    The three side by side, each in a namespace of its own (time53b: they were
    three tests one after the other, each ~15 s, most of it waiting: the
    settle wait, then 8 s in which the agent's link must not end)."""
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
    runs: dict[str, tuple[str, subprocess.Popen[str] | None]] = {}
    try:
        for mode in MODES:
            ns = f"scblip-{uuid.uuid4().hex[:8]}"
            if _ip("netns", "add", ns, check=False).returncode != 0:
                pytest.skip("cannot create network namespaces here")
            runs[mode] = (ns, None)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", "10.36.4.1/32", "dev", "lo")
            started = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-m",
                                        "tests.transport.attack36_blip_run", mode],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, cwd=root, env=env)  # fmt: skip
            runs[mode] = (ns, started)
        for mode, (_ns, proc) in runs.items():
            assert proc is not None
            stdout, stderr = proc.communicate(timeout=90)
            assert proc.returncode == 0, (mode, stderr[-3000:])
            said = json.loads(stdout.strip().splitlines()[-1])
            print(mode, said)
            assert said["outcome"].startswith("refused") and said["asked"] == 2, (mode, said)
            # The whole wait (the script's SETTLE_WAIT, 5 s in the product), as before
            # takeover36.
            wait = said["settle_wait"]
            assert wait <= said["took"] < wait + 2.0, (mode, said)
            assert said["agent_end"] is None, (mode, said)
    finally:
        for ns, proc in runs.values():
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)
            _ip("netns", "del", ns, check=False)
