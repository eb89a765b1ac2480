"""walk52: ``screencodec host --record DIR --record-key auditor.pub
--record-sign desk7.key`` said ``recording every session into DIR, sealed
for the auditor's key; kept 90 days``: nothing of the signing asked for,
nor the key id the auditor pins (``recordings verify --hosts`` names it,
``signed by pinned host 5f717f6bb1d5c5ad``). A typo'd or forgotten option
looked the same as one given.

Expected: the line says the recordings are signed, with the host key's id.

Real keys made by ``screencodec recordings keygen``, a real host on a pty."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from transport.test_attack_prompts import PtyHost
from warm_start import warm_run


def test_a_signing_host_says_so_with_its_key_id(tmp_path: Path) -> None:
    made = warm_run([sys.executable, "-m", "screencodec", "recordings", "keygen", "--host",
                     str(tmp_path / "desk7")], capture_output=True, text=True, timeout=60,
                    check=True)  # fmt: skip
    key_id = re.search(r"key id ([0-9a-f]{16})", made.stdout)
    assert key_id is not None, made.stdout
    warm_run([sys.executable, "-m", "screencodec", "recordings", "keygen",
              str(tmp_path / "auditor")], capture_output=True, timeout=60, check=True)
    recs = tmp_path / "recs"
    recs.mkdir()
    host = PtyHost("--record", str(recs), "--record-key", str(tmp_path / "auditor.pub"),
                   "--record-sign", str(tmp_path / "desk7.key"))  # fmt: skip
    try:
        said = host.wait_for(r"Type /help for the other commands\.\n([^\n]*)\n")
    finally:
        host.close()
    # Found: "recording every session into DIR, sealed for the auditor's key; kept 90 days".
    assert said.group(1) == (f"recording every session into {recs}, sealed for the auditor's"
                             f" key, signed with this host's key {key_id[1]}; kept 90 days")
