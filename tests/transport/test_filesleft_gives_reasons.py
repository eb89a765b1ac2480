"""What ``screencodec host`` says of a file an agent declined is what that
agent's viewer was when the file was offered, whoever has its name when the
answer is told (docs/api.md, ``FileSent.gives_reasons``). A viewer of the
current version says why it refuses a file unasked (a code), so a no
without one is its user's: "they said no or did not answer in time". Before,
the host asked ``Host.gives_reasons(peer)`` after the send had ended, by
the peer's name: an agent who left as their no came (or another viewer
that took the name meanwhile) was then told of as a viewer of the version
before the codes ("declined, no answer, or their viewer takes no files").

Real Host and Viewer over sealed channels on loopback, and the host
command's own ``/send`` (cli/host_files.py ``_Commands._offer``), whose line is
what the host's user reads; the agent leaves, and the host has ended their
session, between the send's end and that line."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from screencodec.cli.host import _Commands
from screencodec.transport import TerminalQuestions
from screencodec.transport.session.events import FileSent, SessionEnded
from screencodec.transport.session.sidechannels import FileOfferInfo

from .secure_fixtures import run
from .test_file_offer_given_up import _Seen
from .test_fileresult_session import _dirs, _pair

SAID_NO = "did not accept notes.txt: they said no or did not answer in time"


async def _no(info: FileOfferInfo) -> bool:
    return False


def test_filesleft_an_agent_who_left_as_their_no_came_is_told_of_as_they_were(
        tmp_path: Path) -> None:  # fmt: skip
    host_dir, viewer_dir = _dirs(tmp_path)
    src = tmp_path / "notes.txt"
    src.write_bytes(b"n" * 100)

    async def main() -> tuple[str, list[FileSent], bool]:
        async with _pair(host_dir, viewer_dir, viewer_says=_no) as (host, viewer):
            seen = _Seen(host.events())
            out = io.StringIO()
            commands = _Commands(TerminalQuestions(io.StringIO(), out), asyncio.Event(),
                                 once=False, takes_files=False)  # fmt: skip
            commands.host = host
            (peer,) = host.viewers
            real_send = host.send

            async def send_then_the_agent_leaves(*args: object, **kwargs: object) -> FileSent:
                sent = await real_send(*args, **kwargs)  # type: ignore[arg-type]
                await viewer.bye("done")
                await seen.first((SessionEnded,))
                return sent

            host.send = send_then_the_agent_leaves  # type: ignore[method-assign]
            await commands._offer(src, peer)
            return out.getvalue(), seen.of(FileSent), host.gives_reasons(peer)

    said, sent, asked_by_name = run(main())
    assert SAID_NO in said, said  # found: "(declined, no answer, or their viewer takes no files)"
    assert "takes no files" not in said, said
    assert [(ev.outcome, ev.why, ev.gives_reasons) for ev in sent] == [("declined", "", True)]
    assert not asked_by_name  # by its name, after: the viewer is gone (as documented)
