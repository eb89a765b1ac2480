"""A received file with a long name on FAT is marked whole before its name
is reserved, as one with a short name is (files32). Without hard links the
whole file is renamed ``.NAME.whole-XXXXXXXX`` and the folder fsync'ed
before NAME is created, empty, and the file renamed onto it. Before, a name
over 239 bytes did not fit that mark (255 bytes a name): the file kept its
temporary ``.part`` name, so a power cut after the reservation left the
empty file under the name and the whole file removed as half by the next
receiver. Now the mark is cut in NAME, at a character (UTF-8 stays whole),
and the next receiver puts the whole file over the empty file whose mark
would be cut so.

A real FAT16 image mounted through FUSE (fusefat) for an ASCII name; a
UTF-8 one in a folder of the test's own file system (fusefat takes no
name beyond ASCII: EPERM), where the mark and the tidy are the same plain
renames. No power can be cut here: the state a cut leaves is made by the
receiver's own code up to the reservation, then left a minute and a half
ago, as after a restart."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from screencodec.transport.session.files.names import NAME_MAX, WHOLE, mark_whole
from screencodec.transport.session.sidechannels import FileReceiver
from transport.helpers import run
from transport.test_filefix_left import LONG_AGO, _a_yes, _yes
from transport.test_small_file_durable import fat

__all__ = ["fat"]  # the fixture (request.getfixturevalue)

#: Names of 250 bytes: the mark of each (17 bytes more) must be cut.
NAMES = {
    "ascii": "r" * 246 + ".txt",
    "utf-8": "\u00e9" * 123 + ".txt",  # 2 bytes a character: the cut falls in one
}


class _File:
    def __init__(self, name: str, path: Path) -> None:
        self.name = name
        self.path: Path | None = path


@pytest.mark.parametrize("kind", sorted(NAMES))
def test_files32_a_long_name_is_marked_whole_and_named_after_a_power_cut(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    name = NAMES[kind]
    fat = request.getfixturevalue("fat") if kind == "ascii" else tmp_path
    assert len(name.encode()) == 250
    part = fat / ".r.part-0123abcd"
    part.write_bytes(b"the whole report")
    # What the receiver does on FAT before the reservation: the mark.
    file = _File(name, part)
    mark_whole(file, fat, name)
    assert file.path is not None and file.path != part, "the whole file was not marked"
    marked = file.path.name
    assert WHOLE.match(marked) and len(marked.encode()) <= NAME_MAX, marked
    assert marked.startswith(f".{name[:100]}"), marked  # the cut keeps whole characters
    # The reservation; then the power is cut, and a restart comes later.
    (fat / name).write_bytes(b"")
    for left in (marked, name):
        os.utime(fat / left, (LONG_AGO, LONG_AGO))

    async def main() -> None:
        rec = FileReceiver(fat, _yes)
        await _a_yes(rec, 1)  # its first yes tidies the folder
        rec.close()

    run(main())
    assert {p.name: p.read_bytes() for p in fat.iterdir()} == {name: b"the whole report"}
