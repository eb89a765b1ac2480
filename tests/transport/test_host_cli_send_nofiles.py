"""nofiles35: the host's ``/send`` to an agent whose program takes no files
(the terminal ``screencodec view``, which declares it up front: the
Capabilities bit NO_FILES) says so at once and offers the file only to the
others. Real ``screencodec host`` and ``screencodec view`` on ptys.

Before: ``offering big.bin (...) to 'Alice' (ADDR); each is asked whether
to accept it``, then at once ``'Alice' (ADDR) did not accept big.bin: it
takes no files``: the host's user read that she was asked, and she never
was.

files36: the agent is told the host's user tried. From nofiles35 on the
host offered such an agent nothing, and its terminal said nothing at all;
now the host's ``/send`` still offers it the file, unasked and unsaid on
the host's side, the agent's program refuses it unasked (its reason code
NO_FILES: no bytes go), and its terminal says ``the host's user offered
'big.bin' (100 kB): not received, this viewer takes no files (screencodec
view --web --download-dir DIR receives files)``."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from screencodec.transport.session.sidechannels import FileOfferInfo

from .test_attack_prompts import PtyHost
from .test_host_cli_commands import AGENT, Where, join, session, wait
from .test_view_cli_send_screens import PtyView, _join, host_and_view

__all__ = ["host_and_view"]


#: What the agent's terminal says of the host's /send (sizes: _big's).
_TOLD = (r"the host's user offered 'big\.bin' \(100 kB\): not received, this viewer takes no"
         r" files \(screencodec view --web --download-dir DIR receives files\)\n")


def _big(folder: Path) -> Path:
    path = folder / "big.bin"
    path.write_bytes(os.urandom(100_000))
    return path


def test_send_to_a_terminal_viewer_says_up_front_it_takes_no_files(
        tmp_path: Path, host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:
    big = _big(tmp_path)
    host, view = _join(*host_and_view, view_args=("--name", "Alice"))
    mark = len(host.text)
    host.type(f"/send {big}")
    host.wait_for(r"\(not sent to " + AGENT.format(who="Alice")
                  + r": their program takes no files\)\n", mark)  # fmt: skip
    view.wait_for(_TOLD)
    said = host.text[mark:]
    assert "each is asked" not in said and "offering" not in said
    assert "did not accept" not in said
    assert view.leave() == 0


def test_send_offers_the_file_to_the_others_only(
        tmp_path: Path, host_and_view: tuple[list[PtyHost], list[PtyView]]) -> None:
    """Alice's terminal takes no files; Bob's viewer (this process) has a
    download folder, and says yes: only Bob is offered the file, and gets it."""
    big = _big(tmp_path)
    saved = tmp_path / "saved"
    saved.mkdir()
    host, view = _join(*host_and_view, view_args=("--name", "Alice"))

    async def yes(_: FileOfferInfo) -> bool:
        return True

    async def body(at: Where) -> None:
        viewer, task = await join(host, at, "Bob", download_dir=saved, file_consent=yes)
        mark = len(host.text)
        host.type(f"/send {big}")
        alice, bob = AGENT.format(who="Alice"), AGENT.format(who="Bob")
        await wait(host, rf"\(not sent to {alice}: their program takes no files\)\n", mark)
        # words39: one agent offered it: "who is asked", not "each is asked".
        await wait(host, rf"offering {re.escape(str(big))} \(100 kB\) to {bob}, who is asked"
                         r" whether to accept it\n", mark)  # fmt: skip
        assert "each is asked" not in host.text[mark:]
        await wait(host, rf"delivered big\.bin to {bob}: saved there\n", mark)
        assert (saved / "big.bin").read_bytes() == big.read_bytes()
        await asyncio.to_thread(view.wait_for, _TOLD)  # Alice is told it
        assert "did not accept" not in host.text[mark:]
        await viewer.bye("done")
        await asyncio.wait_for(task, 10)

    session(host, body)
    # A --once host ends with Bob's session, Alice's with it: her terminal
    # ends by itself (a Ctrl-C sent as it did read 130 now and then).
    view.wait_for(r"session ended: the host's user ended the session\n")
    assert view.proc.wait(timeout=30) == 0, view.text
