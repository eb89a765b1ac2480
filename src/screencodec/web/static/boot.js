// Public bootstrap: read the one-time token from the URL's fragment (never
// sent to any server), derive the key that gates the page's files, drop the
// fragment from the address bar, and load the page's code. A reload of the
// same tab finds its key and resume key in sessionStorage instead.
const STORE = "screencodec-web";
const TOKEN = /^#k=([A-Za-z0-9_-]{16,128})$/;
let current = null; // this document's session: its files key, once booted

async function staticKey(token) {
  const data = new TextEncoder().encode("screencodec-static:" + token);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function fail(text) {
  const p = document.getElementById("boot-error");
  p.textContent = text;
  p.hidden = false;
}

async function boot() {
  const match = TOKEN.exec(location.hash);
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch (e) {
    saved = null;
  }
  let credentials;
  if (match) {
    credentials = { key: match[1], files: await staticKey(match[1]) };
    history.replaceState(null, "", location.pathname);
  } else if (saved && typeof saved.resume === "string" && typeof saved.files === "string" &&
             /^[0-9a-f]{64}$/.test(saved.files)) {
    credentials = { key: saved.resume, files: saved.files };
  } else {
    fail("This address has no viewer key: open the link that screencodec view printed.");
    return;
  }
  current = credentials.files;
  const save = (resume) => sessionStorage.setItem(STORE, JSON.stringify({ resume, files: credentials.files }));
  const base = `/s/${credentials.files}/`;
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = base + "app/style.css";
  document.head.append(link);
  let app;
  try {
    app = await import(base + "app/main.js");
  } catch (e) {
    fail("This viewer link is not valid any more.");
    return;
  }
  app.main({ key: credentials.key, base, save });
}

// A link pasted into a tab already on this origin and path (the next
// session on the same --web-port) differs only in its fragment: the browser
// then keeps this document and its old key. Start over: boot() prefers the
// fragment over the old session's resume key in sessionStorage. The link
// this document opened (its token is spent: it admits one page, once) would
// only be refused: the live page stays, the fragment goes again.
window.addEventListener("hashchange", async () => {
  const match = TOKEN.exec(location.hash);
  if (!match) return;
  if (current !== null && (await staticKey(match[1])) === current) {
    history.replaceState(null, "", location.pathname);
    return;
  }
  location.reload();
});

boot();
