"""A Relay's options and a Viewer's resume ticket that cannot work are
refused with a :class:`screencodec.ConfigError` (tail39): a plain
ValueError before, which a program catching ``ScreencodecError`` (README:
every exception derives from it) missed. Still a ValueError, so
``except ValueError`` callers catch it as before."""

from __future__ import annotations

import numpy as np
import pytest

import screencodec
from screencodec.transport import Viewer
from screencodec.transport.relay import Relay
from screencodec.transport.session.kept import KeptPicture
from screencodec.transport.session.resume import TICKET_SIZE


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"advertise": "0.0.0.0:7390"}, "--advertise: '0.0.0.0:7390' is not an address clients"),
        ({"advertise": "relay.example.net:0"}, "--advertise: 'relay.example.net:0' is not HOST"),
        ({"public_names": ["lb.example.net"]}, "--public-name: 'lb.example.net' is not HOST"),
        ({"public_names": ["lb.example.net:7390"] * 16}, "--public-name: at most 15 public"),
    ],
)
def test_a_relay_option_that_cannot_work_is_a_config_error(
    options: dict[str, object], words: str
) -> None:
    with pytest.raises(screencodec.ScreencodecError) as caught:
        Relay(**options)  # type: ignore[arg-type]
    assert type(caught.value) is screencodec.ConfigError
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(words), caught.value


def test_a_resume_ticket_that_cannot_work_is_a_config_error() -> None:
    picture = np.zeros((4, 4, 4), np.uint8)
    ticket = bytes(TICKET_SIZE)
    cases = [
        ({"resume": b"short"}, f"a resume ticket is {TICKET_SIZE} bytes, not 5"),
        ({"picture": picture}, "a kept picture goes with a resume ticket"),
        ({"resume": ticket, "picture": KeptPicture.of(picture)},
         "a digest of a kept picture goes with a sink, which holds it"),
    ]  # fmt: skip
    for options, words in cases:
        with pytest.raises(screencodec.ScreencodecError) as caught:
            Viewer(object(), **options)  # type: ignore[arg-type]
        assert type(caught.value) is screencodec.ConfigError
        assert isinstance(caught.value, ValueError)
        assert str(caught.value) == words
