"""audit38: ``screencodec view --web`` took its exit status from the end
of the web viewer's reason TEXT (cli/view.py ``_web_not_back_in``,
``_web_ended_away``): a reason that contained " (not let back in: " and
ended with ")" exited 3 (refused), whatever had happened. That text
includes the host's own words (its Bye's reason): a host that ended a
session it had let in with such words made the agent's ``view --web``
say it was not let back in, and exit 3. Expected: the web viewer says
what happened in typed fields (``WebViewer.ended_away``,
``WebViewer.not_back_in``) set where it words the end, and a session the
host ended exits 0 (ended), its words shown as the host said them.

The statuses of a real not-back-in end (3) and a real away end (0, 5)
are pinned by tests/web/test_walkfix36_page_reask_declined.py and
tests/web/test_ends36_web_ended_away.py.

A real Host on loopback (its own loop thread), the real ``screencodec view
--web --no-open`` process, the real page in headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from screencodec.transport import allow

from .conftest import wait_page
from .test_agent_errors import _finish, _RealHost, _view

#: Host words that end as the web viewer's own did for a no when asked
#: again after a lost link, and as for a session ended while away.
SPOOFS = ["done for today (not let back in: the user said no)",
          "done for today (the host's user ended the session meanwhile)"]


@pytest.fixture
def host() -> Iterator[_RealHost]:
    with _RealHost(allow()) as real:
        yield real


@pytest.mark.parametrize("words", SPOOFS)
def test_a_hosts_words_do_not_make_the_exit_status(browser: Any, host: _RealHost,
                                                   words: str) -> None:  # fmt: skip
    proc, url = _view(host)
    browser.get(url)
    wait_page(browser, lambda s: s["applied"] >= 1, what="the picture")
    host.call(host.host.disconnect(reason=words))
    wait_page(browser, lambda s: s["ended"] is not None, what="the end")
    out, err = _finish(proc)
    last = out.strip().splitlines()[-1]
    assert "let you back in" not in last and "while you were away" not in last, (out, err)
    assert words in last, (out, err)
    assert proc.returncode == 0, (out, err)  # ended (cli.main.Exit.ENDED); was 3 for the first
