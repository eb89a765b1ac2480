"""words32: what ``screencodec view`` says of a file the host declined.
A host of the current version says why it refuses a file without asking
its user (a reason code: it takes no files, none this large, too many
waiting), so a no without a code is its user's: "its user said no or did
not answer in time", and nothing about taking no files. Only a host of the
version before the codes (no chat hello, no code this session) gets the
long wording, which also says it may take no files (or none this large).

Real Host and Viewer on loopback and the terminal's own sending
(cli/view.py ``_Sending``), whose line is what the agent reads; and the
real CLI pair in a pty: test_view_cli_send_screens's
test_send_a_file_the_hosts_user_declines_is_told, which now expects these
words."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.cli.view import _Sending
from screencodec.transport.session import link as link_module
from screencodec.transport.session.chat import ChatLedger
from screencodec.transport.session.sidechannels import FileOfferInfo

from .helpers import run, until
from .test_resume import _Setup

LONG = ("the host did not accept {}: its user said no or did not answer in time, or the host"
        " takes no files (or none this large)")  # fmt: skip
SHORT = "the host did not accept {}: its user said no or did not answer in time"


async def _no(offer: FileOfferInfo) -> bool:
    return False


def _told(tmp_path: Path, capsys: pytest.CaptureFixture[str], *names: str,
          max_file: int = 1 << 30) -> list[str]:  # fmt: skip
    """The agent offers files ``names`` (``big`` ones of 2 kB, others of
    10 bytes), one after the other, to a host whose user says no to each
    question (its files limit ``max_file``): the lines the terminal said of
    each file's end."""
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_bytes(b"x" * (2000 if name.startswith("big") else 10))
        paths.append(path)

    async def main() -> None:
        async with _Setup(file_consent=_no, download_dir=downloads, max_file=max_file) as s:
            viewer, task = await s.join()
            await until(lambda: viewer.decoded >= 1, 10, "picture")
            sending = _Sending(viewer)
            for path in paths:
                await sending._offer(path)
            await viewer.bye()
            await task

    capsys.readouterr()
    run(main(), 30)
    return [line for line in capsys.readouterr().out.splitlines()
            if not line.startswith("offering ")]  # fmt: skip


def test_a_current_hosts_plain_no_is_its_users(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert _told(tmp_path, capsys, "notes.txt") == [SHORT.format("notes.txt")]


def test_a_host_of_the_version_before_the_codes_gets_the_long_words(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    # No chat hello: the version before chat delivery; and no code comes.
    monkeypatch.setattr(link_module, "ChatLedger", lambda: ChatLedger(enabled=False))
    assert _told(tmp_path, capsys, "notes.txt") == [LONG.format("notes.txt")]


def test_a_host_that_sent_a_code_this_session_is_current(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """A host with codes and no chat hello (between the two versions): its
    first refusal (too large) came with a code, so its later plain no is
    its user's."""
    monkeypatch.setattr(link_module, "ChatLedger", lambda: ChatLedger(enabled=False))
    told = _told(tmp_path, capsys, "big.bin", "notes.txt", max_file=1000)
    assert told == ["the host did not accept big.bin: it takes none larger than 1 kB",
                    SHORT.format("notes.txt")]
