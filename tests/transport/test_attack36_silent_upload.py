"""attack36: takeover36's silent take-over of a link mid-upload
(attack36_silent_upload_run.py, in a network namespace of its own: root,
iproute2). The link the agent's session was taken up on, sending the host a
file, drops without a reset; the ticket is presented again. Expected: the
session is taken over unasked (as takeover36), and the half-received file
is not left in the host's download folder, its ``.part`` neither; the
host's user is told it was not saved.
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

_SCRIPT = Path(__file__).with_name("attack36_silent_upload_run.py")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("ip"),
                    reason="needs root and iproute2 (a network namespace)")  # fmt: skip
def test_a_silent_link_taken_over_mid_upload_leaves_no_part_file(tmp_path: Path) -> None:
    ns = f"scatk-{uuid.uuid4().hex[:8]}"
    if _ip("netns", "add", ns, check=False).returncode != 0:
        pytest.skip("cannot create network namespaces here")
    folder = tmp_path / "in"
    folder.mkdir()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": f"{root / 'src'}{os.pathsep}{root}"}
    try:
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", "10.36.3.1/32", "dev", "lo")
        out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m",
                              "tests.transport.attack36_silent_upload_run", str(folder)],
                             capture_output=True, text=True, timeout=90, check=False,
                             cwd=root, env=env)  # fmt: skip
    finally:
        _ip("netns", "del", ns, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    said = json.loads(out.stdout.strip().splitlines()[-1])
    print(said)
    assert (said["outcome"], said["asked"], said["resumed"]) == ("granted", 1, 2), said
    assert said["before"], said  # the half-received file was there
    assert said["after"] == [], said
    assert [name for name, _ in said["told"]] == ["big.bin"], said
