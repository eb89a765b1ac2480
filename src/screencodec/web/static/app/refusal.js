// Why the view process refused this page although it had the right key
// (web/access.py IN_USE, SPENT, USED: its socket's close code), in the page's own
// words: a second tab opened on the link by hand, or a duplicate of the tab.
// The link's token admits one page, once, so neither reloading here nor
// closing the other tab lets this one in: the words say where to watch.
// Any other code is not a refusal this page words (null).

const WORDS = new Map([
  [4001, "This session is open in another tab or window: watch it there. A viewer link opens" +
    " in one page only, so this page cannot show it."],
  [4002, "This viewer link was already opened in another tab or window, and it opens in one page" +
    " only: go back to that tab (a reload there keeps the session). If you closed it, run" +
    " screencodec view again for a new link."],
  [4003, "This page's key was already used by another tab or window (a copy of this tab, or" +
    " this tab's original): the session is there, if that tab is still open. If you closed it," +
    " run screencodec view again for a new link."],
]);

export function refusalText(code) {
  return (Number.isInteger(code) && WORDS.get(code)) || null;
}
