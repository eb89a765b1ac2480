"""What a power cut leaves while a received file is named on FAT (files2).
Without hard links the name is created exclusively, empty, and the whole
file renamed onto it: a cut in between left that empty file under the
file's name for good (and the whole file under its temporary name, removed
by the next receiver as half). Now the whole file is first renamed
``.NAME.whole-XXXXXXXX`` (NAME: the name it is about to reserve) and the
folder fsync'ed, and the next receiver in the folder, at its first yes, puts
such a file under NAME: over the empty file that reserved it, or under NAME
if the cut came before the reservation, or under the next free name if NAME
is a file with content (not the reservation). A ``.part`` file beside an
empty file is still only removed (it may be half): the empty file stays.

No power can be cut here: the states a cut leaves are made by hand on a real
FAT16 image mounted through FUSE (fusefat), left a minute and a half ago
and held by nobody, as after a restart; then a real receiver says its
first yes there."""

from __future__ import annotations

import os
from pathlib import Path

from screencodec.transport.session.sidechannels import FileReceiver
from transport.helpers import run
from transport.test_filefix_left import LONG_AGO, _a_yes, _yes
from transport.test_small_file_durable import fat

__all__ = ["fat"]  # the fixture, imported for the FAT test here


def test_files2_a_whole_file_a_power_cut_left_unnamed_on_fat_gets_its_name(fat: Path) -> None:
    left = {
        ".report.txt.whole-0123abcd": b"the report",  # cut after its name was reserved
        "report.txt": b"",
        ".notes.txt.whole-89abcdef": b"the notes",  # cut before the reservation
        ".taken.txt.whole-00ff00ff": b"the new one",  # its name has another file
        "taken.txt": b"someone's",
        ".half.bin.part-0badc0de": b"half of it",  # a half file beside an empty one
        "half.bin": b"",
    }
    for name, data in left.items():
        (fat / name).write_bytes(data)
        os.utime(fat / name, (LONG_AGO, LONG_AGO))

    async def main() -> None:
        rec = FileReceiver(fat, _yes)
        await _a_yes(rec, 1)
        rec.close()

    run(main())
    assert {p.name: p.read_bytes() for p in fat.iterdir()} == {
        "report.txt": b"the report",
        "notes.txt": b"the notes",
        "taken.txt": b"someone's",
        "taken (1).txt": b"the new one",
        "half.bin": b"",
    }
