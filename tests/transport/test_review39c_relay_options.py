"""review39c: README, "a Relay's options ... that cannot work, a
ConfigError". Found: ``Relay(port=99999)`` (or -1) was taken, and its start
raised ``OverflowError: bind(): port must be 0-65535``, no
ScreencodecError (walk39 fixed this for share and view, not the relay);
``public_names="lb.example.net:7390"`` (one name, not a list of them) was
read letter by letter: "at most 15 public names", about a list nobody
gave. Both are ConfigErrors now, raised by the constructor."""

from __future__ import annotations

import asyncio

import pytest

import screencodec
from screencodec.transport.relay import Relay


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"port": 99999}, "the port 99999 is not 0-65535"),
        ({"port": -1}, "the port -1 is not 0-65535"),
        (
            {"public_names": "lb.example.net:7390"},
            "--public-name: a list of HOST:PORT names, not the one string 'lb.example.net:7390'",
        ),
    ],
)
def test_review39c_a_relay_option_that_cannot_work_is_a_config_error(
    options: dict[str, object], words: str
) -> None:
    with pytest.raises(screencodec.ScreencodecError) as caught:
        Relay(**options)  # type: ignore[arg-type]
    assert type(caught.value) is screencodec.ConfigError
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == words


def test_review39c_a_relay_on_any_free_port_still_starts() -> None:
    async def main() -> int:
        async with Relay("127.0.0.1", 0) as relay:
            return relay.port

    assert asyncio.run(main()) > 0
    assert list(Relay(public_names=["lb.example.net:7390"]).public_names) == ["lb.example.net:7390"]
