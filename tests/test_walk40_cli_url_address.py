"""walk40: a web address given where HOST:PORT goes.

Found: ``screencodec view http://127.0.0.1:7141 --code ...`` (the address
copied as a link, as ``view --web`` prints its own) looked up the name
``http://127.0.0.1`` and said ``error: cannot reach http://127.0.0.1:7141:
name or service not known`` (status 1): as if the host were down. The
address is split at its last colon, so anything before it was taken for a
host name. A scheme or a path is now refused at the start, status 2, in one
line that gives the address to type; nothing is dialled.

The real CLI in a subprocess; nothing listens on the ports named."""

from __future__ import annotations

import pytest

from test_walk39_cli_args import CREDS, _run


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("view", "http://127.0.0.1:7141", *CREDS),
         "argument HOST:PORT: 'http://127.0.0.1:7141' is a web address: give the host and"
         " port alone, like 127.0.0.1:7141"),
        (("view", "--relay", "https://relay.example.org:7100/", *CREDS),
         "argument --relay: 'https://relay.example.org:7100/' is a web address: give the host"
         " and port alone, like relay.example.org:7100"),
        (("host", "--relay", "http://10.0.0.5", "--source", "synthetic"),
         "argument --relay: 'http://10.0.0.5' is a web address: give the host and port"
         " alone, like HOST:PORT"),
    ],
)  # fmt: skip
def test_a_web_address_is_bad_arguments_naming_what_to_type(
        args: tuple[str, ...], words: str) -> None:  # fmt: skip
    status, out, err = _run(*args)
    assert "Traceback" not in err, err
    assert status == 2, (out, err)
    assert err.rstrip().splitlines()[-1].endswith(words), err
    assert "waiting" not in out and "cannot reach" not in err
