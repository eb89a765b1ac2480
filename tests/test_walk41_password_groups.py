"""walk41: a password typed in groups, as a person reads it out.

Found: ``screencodec view ... --code 652-001-091`` took the code with dashes,
and the password ``huz6-kbgp`` typed at its prompt the same way was refused,
``error: that is not a session password: 8 letters and digits`` (status 2).
Spaces, dashes and dots between groups are now left out of both (none is in
the password's alphabet: the password proven is the same).

The real host and view, each on a pseudo-terminal, over loopback; one host
for the two views, one after the other."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from transport.test_attack_prompts import PtyHost, _credentials
from transport.test_view_cli_send_screens import PtyView


def _grouped(password: str, sep: str) -> str:
    return f"{password[:4]}{sep}{password[4:]}"


@pytest.fixture(scope="module")
def host() -> Iterator[PtyHost]:
    """One host (not --once: each agent is asked, the password stays) for
    both ways of typing it (time49c: the host is only where the view's
    password is proven)."""
    with PtyHost(once=False) as staying:
        yield staying


@pytest.mark.parametrize(("sep", "at_prompt"), [("-", True), (".", False)])
def test_a_password_in_two_groups_lets_the_agent_in(
    host: PtyHost, sep: str, at_prompt: bool,
) -> None:
    view = None
    try:
        port, code, password = _credentials(host)
        mark = len(host.text)
        given = [] if at_prompt else ["--password", _grouped(password.upper(), sep)]
        view = PtyView(f"127.0.0.1:{port}", "--code", code.replace(" ", "-"), *given)
        if at_prompt:
            view.wait_for(r"Password: ?$")
            view.type(_grouped(password, sep))
        host.wait_for(r"Question \d+: .*?\[y/N\] ", mark)
        host.type("y")
        view.wait_for(rf"connected to 127\.0\.0\.1:{port}, granted: view\n")
        assert "not a session password" not in view.text
        assert view.leave() == 0  # the next agent finds the host as a new one does
    finally:
        if view is not None:
            view.close()
