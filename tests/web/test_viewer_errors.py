"""The viewer says why it was not let in: declined, or not answered in time."""

from __future__ import annotations

import asyncio

import pytest

from screencodec.errors import ConsentDeniedError
from screencodec.transport import (
    ConsentRequest,
    Grant,
    Host,
    HostConfig,
    Viewer,
    channel_pair,
    deny,
)
from screencodec.transport.session.consent import ConsentCallback

from .harness import StillSource


def _source() -> StillSource:
    from screencodec.capture import open_source

    return StillSource(open_source("synthetic", width=64, height=64, scenario="idle"))


async def _never(_request: ConsentRequest) -> Grant:
    await asyncio.Event().wait()
    raise AssertionError


@pytest.mark.parametrize(
    ("consent", "words"),
    [
        (deny(), "the host's user declined"),
        (_never, "the host declined: its user did not answer in time"),
    ],
    ids=["declined", "timeout"],
)
def test_viewer_says_why(consent: ConsentCallback, words: str) -> None:
    async def main() -> None:
        host = Host(_source(), consent=consent, config=HostConfig(consent_timeout=0.2))
        hc, vc = channel_pair()
        serve = asyncio.ensure_future(host.serve(hc))
        with pytest.raises(ConsentDeniedError) as err:
            await Viewer(vc).start()
        assert str(err.value) == words
        await serve
        await host.close()

    asyncio.run(asyncio.wait_for(main(), 20))
