"""walk34: an agent whose host's user ended the session (Ctrl-C) while the
question about letting them in was still open read "the host ended the
session before its user answered: the host's user ended the session": the
same thing twice. Expected: one sentence, "the host's user ended the
session without answering", in the terminal and in the page; the exit
status still says refused (3). A host whose reason is not one of the
known ones is named in brackets, once.

A real ``screencodec host`` on a pty (Ctrl-C is its SIGINT), a real
``screencodec view`` in the terminal and with ``--web`` in headless
Chromium; a Host and Viewer in this process for the reason an embedding
program gives."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
from typing import Any

import pytest

from screencodec.capture.synthetic import SyntheticDesktop
from screencodec.errors import ConsentDeniedError
from screencodec.transport import VIEW, Host, SessionCredentials, Viewer
from screencodec.transport.connect import connect_direct, listen_direct
from screencodec.transport.session.consent import ConsentRequest
from screencodec.transport.session.permissions import Grant
from warm_start import warm_popen
from web.conftest import browser, wait_page  # noqa: F401  (browser is a fixture)

from .secure_fixtures import run
from .test_attack_prompts import PtyHost, _credentials
from .test_cli import ENV

_ONE_SENTENCE = "the host's user ended the session without answering"


def _view(port: int, code: str, password: str, *more: str) -> subprocess.Popen[str]:
    return warm_popen([sys.executable, "-m", "screencodec", "view", f"127.0.0.1:{port}",
                       "--code", code, "--password", password, *more],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                      env=ENV)  # fmt: skip


def test_walk34_terminal_says_the_hosts_user_ended_it_without_answering() -> None:
    host = PtyHost()
    view = None
    try:
        view = _view(*_credentials(host))
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        host.proc.send_signal(signal.SIGINT)  # the host's user presses Ctrl-C
        out, err = view.communicate(timeout=30)
        assert view.returncode == 3, out + err
        assert err.strip().splitlines()[-1] == _ONE_SENTENCE, err
        assert "before its user answered" not in out + err
    finally:
        if view is not None and view.poll() is None:
            view.kill()
            view.communicate()
        host.close()


def test_walk34_page_says_the_hosts_user_ended_it_without_answering(
    browser: Any,  # noqa: F811 (web.conftest's fixture)
) -> None:
    host = PtyHost()
    view = None
    try:
        view = _view(*_credentials(host), "--web", "--no-open")
        assert view.stdout is not None
        url = None
        while url is None:
            line = view.stdout.readline()
            assert line, "the view ended before it told its link"
            url = re.search(r"http://127\.0\.0\.1:\d+/#k=[A-Za-z0-9_-]+", line)
        browser.get(url.group(0))
        host.wait_for(r"Question 1: .*?\[y/N\] ")
        host.proc.send_signal(signal.SIGINT)
        st = wait_page(browser, lambda s: s["closed"], what="the end")
        assert st["banner"] == f"Not shared: {_ONE_SENTENCE}.", st
        out, err = view.communicate(timeout=30)
        assert view.returncode == 3, out + err
    finally:
        if view is not None and view.poll() is None:
            view.kill()
            view.communicate()
        host.close()


@pytest.mark.parametrize(("reason", "said"), [
    ("host ended", "the host ended the session before its user answered"),
    ("", "the host ended the session before its user answered"),
    ("closing for the night \x1b[2J", "the host ended the session before its user answered "
                                      "(closing for the night ?)"),
])  # fmt: skip
def test_walk34_a_hosts_own_reason_is_said_once(reason: str, said: str) -> None:
    asking = asyncio.Event()

    async def consent(request: ConsentRequest) -> Grant:
        asking.set()
        await asyncio.Event().wait()  # the user never answers
        raise AssertionError("unreachable")

    async def main() -> None:
        host = Host(SyntheticDesktop(96, 64, scenario="typing", seed=1), consent=consent)
        creds = SessionCredentials()
        async with host, await listen_direct("127.0.0.1", 0, creds, host.serve) as listener:
            viewer = Viewer(await connect_direct("127.0.0.1", listener.port, creds.code,
                                                 creds.password), who="Alice")  # fmt: skip
            started = asyncio.ensure_future(viewer.start(VIEW))
            await asyncio.wait_for(asking.wait(), 10)
            await host.disconnect(reason=reason)
            with pytest.raises(ConsentDeniedError) as err:
                await started
            assert str(err.value) == said

    run(main())
