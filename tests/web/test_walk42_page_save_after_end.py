"""walk42: a file the host's user sent, accepted in the page and never
saved from it before the session ended. ``view --web`` without
``--download-dir`` keeps accepted files in a private temporary folder that
it removes as it exits; found: the page's row still read "received [Save]"
after the end, the Save link fetched nothing (the page's server had
closed, the file was gone), and neither the page nor the terminal said the
file was lost (the host's user had read "saved there"). Now the row says
it was not kept and loses its link, and the terminal names it; a file the
agent did save from the page is not named.

Real ``screencodec host`` on a pty, a real ``view --web`` process, headless
Chromium (its downloads into this test's folder)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from tests.transport.test_attack_prompts import PtyHost

from .conftest import wait_page
from .harness import view_web_page

_ROW = "//li[span[text()='{name}']]"
_NOT_KEPT = ("not kept: the session ended before you saved it from here, and its copy in the"
             " viewer's temporary folder was removed")  # fmt: skip


def _accept(browser: Any, host: PtyHost, path: Path) -> Any:
    """The host's user /sends ``path``; the agent accepts it in the page.
    Returns its row once it reads "received"."""
    mark = len(host.text)
    host.type(f"/send {path}")
    row = _ROW.format(name=path.name)
    wait_page(browser, lambda s: bool(browser.find_elements(By.XPATH, row + "/button")),
              what=f"the question about {path.name}")  # fmt: skip
    browser.find_element(By.XPATH, row + "/button[text()='Accept']").click()
    wait_page(browser, lambda s: bool(browser.find_elements(By.XPATH, row + "/a")),
              what=f"{path.name}'s Save link")  # fmt: skip
    host.wait_for(rf"delivered {path.name} to .*: saved there\n", mark)
    return browser.find_element(By.XPATH, row)


def test_a_received_file_never_saved_from_the_page_is_said_lost_at_the_end(
    browser: Any, tmp_path: Path
) -> None:
    saved_to = tmp_path / "browser-downloads"
    saved_to.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior",
                            {"behavior": "allow", "downloadPath": str(saved_to)})  # fmt: skip
    kept, lost = tmp_path / "kept.txt", tmp_path / "lost.txt"
    kept.write_text("the agent saves this\n")
    lost.write_text("nobody clicks Save\n")
    with view_web_page(browser) as (host, view):
        _accept(browser, host, kept).find_element(By.TAG_NAME, "a").click()
        wait_page(browser, lambda s: (saved_to / "kept.txt").exists(), what="kept.txt saved")
        _accept(browser, host, lost)
        host.type("/end")
        out, err = view.proc.communicate(timeout=30)
        assert view.proc.returncode == 0, (view.lines, out, err)
        # found: the row kept its Save link, which fetched nothing
        row = _ROW.format(name="lost.txt")
        wait_page(browser, lambda s: s["ended"] is not None, what="the end")
        assert browser.find_elements(By.XPATH, row + "/a") == []
        shown = browser.find_element(By.XPATH, row).text
        assert shown == f"lost.txt 19 bytes from the user: {_NOT_KEPT}"
        assert browser.find_elements(By.XPATH, _ROW.format(name="kept.txt") + "/a") != []
        said = view.lines + out.splitlines()
        # found: nothing said of it
        assert (
            "not kept: 'lost.txt' (19 bytes) from the user was not saved from the page"
            " before the session ended; its copy was removed with the viewer's temporary"
            " folder (view --web --download-dir DIR keeps each file you accept)"
        ) in said, said
        assert not any("kept.txt" in line for line in said), said
