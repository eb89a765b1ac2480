"""What a person types wrong reaches an embedder as a screencodec error
(walk39). README: "Every exception derives from ScreencodecError and also
from the matching builtin". A service wrapping ``view()`` in ``except
screencodec.ScreencodecError`` crashed on its user's typo: a code of 8
digits, a password with a 0, an address without a port or with port 99999
were plain ``ValueError`` (the port's an ``OverflowError`` from the socket,
after the connect began). Now a :class:`screencodec.FormatError`, still a
``ValueError``, raised before anything connects."""

from __future__ import annotations

import asyncio

import pytest

import screencodec
import screencodec.capture
from screencodec.transport import HostConfig, allow, share, view

CODE, PASSWORD = "123 456 789", "abcd2345"


@pytest.mark.parametrize(
    ("address", "code", "password", "words"),
    [
        ("127.0.0.1:7", "12345678", PASSWORD, "a session code is 9 digits, like 123 456 789"),
        ("127.0.0.1:7", CODE, "abcd0000", "a session password is 8 symbols from "),
        ("127.0.0.1", CODE, PASSWORD, "expected HOST:PORT, not '127.0.0.1'"),
        ("127.0.0.1:99999", CODE, PASSWORD, "the port 99999 is not 1-65535"),
        ("127.0.0.1:0", CODE, PASSWORD, "the port 0 is not 1-65535"),
    ],
)
def test_walk39_a_typo_is_a_screencodec_error(
    address: str, code: str, password: str, words: str
) -> None:
    async def main() -> None:
        async with view(address, code=code, password=password):
            pass

    with pytest.raises(screencodec.ScreencodecError) as caught:
        asyncio.run(asyncio.wait_for(main(), 20))
    assert isinstance(caught.value, screencodec.FormatError)
    assert isinstance(caught.value, ValueError)  # as before: except ValueError still works
    assert str(caught.value).startswith(words), caught.value


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ({"listen": 99999}, "the port 99999 is not 0-65535"),
        ({"listen": "127.0.0.1:65536"}, "the port 65536 is not 0-65535"),
        ({"relay": "relay.example.org"}, "expected HOST:PORT, not 'relay.example.org'"),
    ],
)
def test_walk39_share_says_a_wrong_address_before_it_opens_anything(
    where: dict[str, object], words: str
) -> None:
    opened: list[int] = []

    def source(index: int) -> screencodec.capture.FrameSource:
        opened.append(index)
        raise AssertionError("no source is opened for a wrong address")

    async def main() -> None:
        async with share(source, consent=allow(), **where):  # type: ignore[arg-type]
            pass

    with pytest.raises(screencodec.FormatError) as caught:
        asyncio.run(asyncio.wait_for(main(), 20))
    assert str(caught.value) == words
    assert opened == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("consent_timeout", 0.0),
        ("consent_timeout", float("nan")),
        ("max_duration", 0.0),
        ("window", 0),
        ("stats_period", -1.0),
    ],
)
def test_walk39_a_host_config_that_cannot_work_is_refused_when_made(
    option: str, value: float
) -> None:
    """walk39: ``HostConfig(consent_timeout=0)`` answered every question no
    (with "coroutine was never awaited"), ``max_duration=0`` ended each
    session before its user answered, ``window=0`` failed every session with
    "the host failed to start the session": each only once an agent came."""
    with pytest.raises(ValueError, match=f"^HostConfig: {option} must be "):
        HostConfig(**{option: value})


def test_walk39_host_config_defaults_and_no_limit_still_make() -> None:
    assert HostConfig(max_duration=None, resume_window=0, cursor_rate=0).window == 8


def test_share_takes_a_port_given_as_a_string() -> None:
    """tail39: ``share(listen="7000")`` raised FormatError "expected
    HOST:PORT", while its docs say ``listen`` is a port or "ADDR:PORT" (and
    ``screencodec host --listen 7000`` takes the same words). A bare port
    string is that port on all interfaces; an agent connects to it."""
    from screencodec.capture import SyntheticDesktop
    from screencodec.transport import first_picture

    async def main() -> tuple[tuple[str, int], tuple[int, ...]]:
        desktop = SyntheticDesktop(320, 200, scenario="idle")
        async with share(desktop, consent=allow(), listen="0") as shared:
            where = shared.address
            async with view(
                f"127.0.0.1:{where[1]}", code=shared.code, password=shared.password
            ) as viewer:
                frame = await first_picture(viewer, 20)
        return where, frame.shape

    where, shape = asyncio.run(asyncio.wait_for(main(), 60))
    assert where[0] == "0.0.0.0" and 0 < where[1] <= 65535
    assert shape == (200, 320, 4)


@pytest.mark.parametrize(
    ("listen", "words"),
    [
        ("99999", "the port 99999 is not 0-65535"),
        ("70o0", "expected a port or ADDR:PORT, not '70o0'"),
        ("localhost", "expected a port or ADDR:PORT, not 'localhost'"),
        (True, "expected a port or ADDR:PORT, not True"),  # was port 1 (review39c)
    ],
)
def test_share_says_what_listen_takes(listen: str | bool, words: str) -> None:
    async def main() -> None:
        async with share(screencodec.capture.SyntheticDesktop(64, 64), consent=allow(),
                         listen=listen):  # fmt: skip
            pass

    with pytest.raises(screencodec.FormatError) as caught:
        asyncio.run(asyncio.wait_for(main(), 20))
    assert str(caught.value) == words
