"""review39c: HOST:PORT forms that walk39/tail39 let through as something
else. docs/api.md and transport.md: a code, password or address "without a
port or with one over 65535" is a FormatError (a ValueError) before anything
connects. Found: ``"::1"`` (an IPv6 address, no port) was read as the host
``":"`` and the port 1, so ``share(listen="::1")`` bound, or tried to, port 1
of a host named ":" (an OSError, after the source opened); ``"h:²"``
(``str.isdigit`` takes superscripts, ``int`` does not) was a plain
ValueError, missed by ``except ScreencodecError``. An IPv6 address in
brackets, ``[::1]:7000``, as a URL writes it, is the address ``::1``: it was
kept with its brackets, which no resolver takes. (``"::1:7392"``, split at
the last colon, stays ::1 and 7392, as relay --advertise takes it.)"""

from __future__ import annotations

import argparse

import pytest

import screencodec
from screencodec.cli.args import address
from screencodec.transport.entry import _address, _listen_address


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("::1", "an IPv6 address goes in brackets with its port, like [::1]:7000, not '::1'"),
        (
            "fe80::1",
            "an IPv6 address goes in brackets with its port, like [::1]:7000, not 'fe80::1'",
        ),
        ("h:²", "expected HOST:PORT, not 'h:²'"),
        ("[::1]", "expected HOST:PORT, not '[::1]'"),
    ],
)
def test_review39c_a_wrong_address_is_a_format_error(value: str, words: str) -> None:
    for parse in (lambda v: _address(v, "127.0.0.1"), _listen_address):
        with pytest.raises(screencodec.FormatError) as caught:
            parse(value)
        assert isinstance(caught.value, ValueError)
        assert str(caught.value) == words
    with pytest.raises(argparse.ArgumentTypeError) as typed:
        address(value)
    assert str(typed.value) == words


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("[::1]:7000", ("::1", 7000)),
        ("[fe80::1%eth0]:22", ("fe80::1%eth0", 22)),
        ("127.0.0.1:7000", ("127.0.0.1", 7000)),
        ("example.net:7000", ("example.net", 7000)),
        ("::1:7392", ("::1", 7392)),  # the last colon's, as relay --advertise takes it
    ],
)
def test_review39c_an_address_in_brackets_is_the_address(value: str, want: tuple[str, int]) -> None:
    assert _address(value, "127.0.0.1") == want
    assert _listen_address(value) == want
    assert address(value) == want
