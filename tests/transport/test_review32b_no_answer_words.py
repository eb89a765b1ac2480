"""review32b: the host's user is not told an agent said no when nobody
answered (588891a).

Since 588891a, a current viewer's plain no reads "'AGENT' did not accept
NAME: they said no", on the ground that its no-answer is a withdrawal. It is
not always: the viewer's own question closes at its FileReceiver's timeout
(30 s by default; the host's offer waits 60 s) and that is a plain
FileAccept(False), no code. So an agent who never saw or answered the
question was said to have said no. The host now says what the agent's
terminal says of the host's user (USER_SAID_NO): said no or did not answer
in time. Real host CLI on a pty, a real Viewer whose user does not answer
(its question timeout shortened to 1 s: the library's own setting)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from screencodec.transport.session.sidechannels import FileOfferInfo

from .test_host_cli_commands import AGENT, LongHost, Where, join, session, wait


def test_an_agent_who_did_not_answer_is_not_said_to_have_said_no(tmp_path: Path) -> None:
    sent = tmp_path / "notes.bin"
    sent.write_bytes(b"n" * 2000)
    inbox = tmp_path / "in"
    inbox.mkdir()
    asked: list[FileOfferInfo] = []

    async def never(offer: FileOfferInfo) -> bool:
        asked.append(offer)
        await asyncio.Event().wait()  # the agent is away: nobody answers
        return True

    host = LongHost()
    try:
        async def body(at: Where) -> None:
            dan, run = await join(host, at, "Dan", download_dir=inbox, file_consent=never)
            dan.files.timeout = 1.0  # the viewer's question closes before the host's 60 s
            mark = len(host.text)
            host.type(f"/send {sent}")
            said = await wait(host, AGENT.format(who="Dan") + r" did not (accept|answer)[^\n]*\n",
                              mark)  # fmt: skip
            assert len(asked) == 1
            assert said.group(0).rstrip().endswith(
                "did not accept notes.bin: they said no or did not answer in time"), said.group(0)
            await dan.bye("done")
            await run

        session(host, body)
    finally:
        host.close()
