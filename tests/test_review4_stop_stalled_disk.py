"""review4 of files2's off-loop saves (c7015c6): Ctrl-C of ``screencodec
host`` while a file the user said yes to waits on a disk that does not
answer (the FUSE daemon of a real FAT image stopped as the agent's FileEnd
goes, as test_files2_off_loop does).

Measured (scratch, the real CLI on a pty): "Screen sharing stopped." comes
after Host.close's 5 s; then nothing is printed and the process does not
end until the disk answers (20 s, 25 s: as long as the stall; for good if
it never does), since interpreter exit joins the receiver's disk thread; a
second Ctrl-C then changes nothing (SIGINT is ignored once the loop is
gone). The file is then saved whole, but the person is never told so, nor
that the host was waiting for it (no "saved" line, no "ended" line for the
session). Without the stall the same Ctrl-C prints "saved ...", then the
banner and "ended: you ended it" at once.

Now (stopdisk): at the Ctrl-C the host says which received file it waits
for, and that a Ctrl-C more leaves without it (that case:
tests/transport/test_stopdisk_host.py); once the disk answers, the file is
told saved, sharing stopped, the session ended, and the host exits."""

from __future__ import annotations

import os
from pathlib import Path

from transport.test_attack_prompts import PtyHost
from transport.test_small_file_durable import fat
from transport.test_stopdisk_host import WAITING, in_order, stop_host_while_saving

__all__ = ["fat"]  # the fixture, imported for the FAT test here


def test_review4_ctrl_c_while_a_received_file_waits_on_a_stalled_disk_says_so(
    fat: Path, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.bin"
    notes.write_bytes(os.urandom(300_000))

    async def waits(host: PtyHost, daemon: int, mark: int) -> None:
        assert host.proc.poll() is None, host.text[mark:]  # it waits for the disk

    text, status = stop_host_while_saving(fat, notes, waits)
    in_order(text, WAITING, rf"saved {fat}/notes\.bin \(300 kB\) from 'Alice' ",
             r"session with 'Alice' [^\n]* ended: you ended it\n",
             r"Screen sharing stopped\.")  # fmt: skip (host37: the end line, then the banner)
    assert status == 0, text
    assert os.listdir(fat) == ["notes.bin"]
    assert (fat / "notes.bin").read_bytes() == notes.read_bytes()
