"""walkfix35b: ``consent=allow`` (the factory, not ``allow()``) refused every
agent without a word, found on a new user's walk: the agent read "the host's
user declined" and the host's program heard nothing. Now Host() and share()
refuse such a callback at once (ConsentCallbackError, a TypeError), and a
callback that returns no Grant at run time refuses the agent with its
reason in the host's SessionEnded and its log, and the agent is told the
host could not ask its user. Real Host and Viewer over loopback sockets."""

from __future__ import annotations

import asyncio
import logging

import pytest

from screencodec.capture import open_source
from screencodec.errors import ConsentCallbackError, ConsentDeniedError
from screencodec.transport import (
    Host,
    SessionEnded,
    TerminalQuestions,
    allow,
    deny,
    share,
    terminal_consent,
    view,
)
from screencodec.transport.session.permissions import ConsentRequest
from transport.helpers import run


def _source():  # type: ignore[no-untyped-def]
    return open_source("synthetic", width=160, height=120, scenario="idle")


@pytest.mark.parametrize("factory", [allow, deny, terminal_consent])
def test_a_factory_given_as_the_callback_is_refused_by_host_and_share(factory: object) -> None:
    name = factory.__name__  # type: ignore[attr-defined]
    with pytest.raises(ConsentCallbackError, match=rf"consent={name} is the factory.*"
                       rf"give consent={name}\(\)"):  # fmt: skip
        Host(_source(), consent=factory)  # type: ignore[arg-type]

    async def main() -> None:
        with pytest.raises(TypeError, match=f"consent={name} is the factory"):
            async with share(_source(), listen="127.0.0.1:0",
                             consent=factory):  # type: ignore[arg-type]  # fmt: skip
                raise AssertionError("shared with a factory for its consent")

    run(main())


def test_a_questions_object_or_a_value_is_no_callback() -> None:
    with pytest.raises(ConsentCallbackError, match=r"its \.permission method"):
        Host(_source(), consent=TerminalQuestions())  # type: ignore[arg-type]
    with pytest.raises(ConsentCallbackError, match="not a bool"):
        Host(_source(), consent=True)  # type: ignore[arg-type]


def test_a_callback_returning_no_grant_refuses_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def says_yes(request: ConsentRequest) -> bool:
        return True  # a bool, not a Grant: the trap of a hand-written callback

    async def main() -> None:
        async with share(_source(), listen="127.0.0.1:0",
                         consent=says_yes) as session:  # type: ignore[arg-type]  # fmt: skip
            events = session.events()
            with pytest.raises(ConsentDeniedError) as refused:
                async with view(session.address, code=session.code,
                                password=session.password, name="Alice"):  # fmt: skip
                    raise AssertionError("let in by a callback that returned True")
            # Before: "the host's user declined", and nothing on the host's side.
            assert str(refused.value) == ("the host refused: its program could not ask its"
                                          " user (a bug there)")  # fmt: skip
            ended = await asyncio.wait_for(_ended(events), 5)
            assert ended.reason == ("consent denied: the consent callback returned a bool,"
                                    " not a Grant")  # fmt: skip

    with caplog.at_level(logging.ERROR, "screencodec.transport.session.consent"):
        run(main())
    logged = [r.getMessage() for r in caplog.records]
    assert logged == ["the consent callback returned a bool, not a Grant: the agent is refused"
                      " without a question"]  # fmt: skip


async def _ended(events):  # type: ignore[no-untyped-def]
    async for event in events:
        if isinstance(event, SessionEnded):
            return event
    raise AssertionError("no SessionEnded")
