"""review39b: walk39's FormatError and port checks in share()/view(),
attacked with odd addresses a person may type or paste. Found: a port of
digits Python reads but int() does not ('²'), or of 5000 digits, was a
plain ValueError (not FormatError: a service catching ScreencodecError
crashed again); an IPv6 address in its usual form, '[::1]:PORT', kept its
brackets and failed in the resolver ('Name or service not known')."""

from __future__ import annotations

import asyncio

import pytest

import screencodec
from screencodec.transport import allow, share, view
from screencodec.transport.session.permissions import VIEW
from warm_start import warm_run

from .test_cli import CLI, ENV

CODE, PASSWORD = "123 456 789", "abcd2345"
CREDS = ("--code", CODE, "--password", PASSWORD)


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1:\u00b2", "expected HOST:PORT, not '127.0.0.1:\u00b2'"),
        ("127.0.0.1:\u0668\u0660", "expected HOST:PORT, not '127.0.0.1:\u0668\u0660'"),
        ("127.0.0.1:" + "1" * 5000, "the port 11111111111111111111... is not 1-65535"),
    ],
)
def test_attack_an_odd_port_is_a_format_error(address: str, words: str) -> None:
    async def main() -> None:
        async with view(address, code=CODE, password=PASSWORD):
            pass

    with pytest.raises(screencodec.FormatError) as caught:
        asyncio.run(asyncio.wait_for(main(), 20))
    assert str(caught.value) == words


def test_attack_an_ipv6_address_in_brackets_is_dialled_and_listened_on() -> None:
    async def main() -> None:
        async with share(listen="[::1]:0", consent=allow(VIEW)) as shared:
            port = shared.address[1]
            async with view(f"[::1]:{port}", code=shared.code, password=shared.password) as v:
                assert v.level == VIEW

    asyncio.run(asyncio.wait_for(main(), 30))


def test_attack_the_cli_reads_an_odd_port_and_an_ipv6_address() -> None:
    """The same at ``screencodec view``: '²' was argparse's 'invalid address
    value'; '[::1]:1' was 'cannot reach [::1]:1: name or service not known'."""
    done = warm_run([*CLI, "view", "127.0.0.1:\u00b2", *CREDS], capture_output=True,
                    text=True, env=ENV, timeout=30, check=False)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "screencodec view: error: argument HOST:PORT: expected HOST:PORT, not '127.0.0.1:\u00b2'")
    done = warm_run([*CLI, "view", "[::1]:1", *CREDS], capture_output=True, text=True,
                    env=ENV, timeout=30, check=False)  # fmt: skip
    assert "nothing listens at ::1:1 (connection refused)" in done.stdout + done.stderr
