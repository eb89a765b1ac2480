"""walk32: docs/web.md says the words the page shows for a file the host did
not accept.

Walked by hand (a current host, view --web, four files chosen at once on
the page): the fourth row read "not accepted by the host: its user has 3
questions open already: send it again once they are answered" (the host's
BUSY code, files2), and a file its user said no to "... its user said no or
did not answer in time" (e8e35e6). docs/web.md still said such rows read
"its user said no, or it takes no files (or none this large)" and that "the
page never says 'declined by the user'", the words of a host of the version
before the codes (tests/test_walk5_page_uploads.py has the page's rows)."""

from __future__ import annotations

import re
from pathlib import Path

from screencodec.transport.session.files.wire import (
    BUSY,
    MAX_PENDING_OFFERS,
    TOO_LARGE,
    USER_SAID_NO,
    refusal_words,
)

ROOT = Path(__file__).resolve().parent.parent


def test_web_md_says_the_pages_words_for_a_file_not_accepted() -> None:
    text = re.sub(r"\s+", " ", (ROOT / "docs" / "web.md").read_text())
    for words in (USER_SAID_NO, refusal_words(BUSY, MAX_PENDING_OFFERS),
                  refusal_words(TOO_LARGE, 1 << 30)):  # fmt: skip
        assert f"not accepted by the host: {words}" in text, words
