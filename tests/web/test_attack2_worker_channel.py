"""attack2: the page's decoding worker channel, attacked both ways.

- The page's side (app/decoding.js's DecodeWorker.answer): a worker that
  answers out of order, with another id, the wrong kind for what was asked,
  ready twice or before ready, a tile outside its frame, pixels of another
  size, values of no known kind (null, a Map, a Date, an own __proto__),
  'error'/'messageerror' events, and what a failed worker still sends. Each
  is a failure (onFailed), what the worker held is lost in order, a ready
  worker is replaced (one that never got ready is not), the bitmaps of a
  refused answer are closed, and nothing escapes as an uncaught error. The
  Worker is a stand-in in the page (window.Worker swapped for the test),
  every answer structured-cloned as a real worker's is.
- The channel's checks (worker/channel.js) both ways: every field of every
  message kind replaced by each of a list of values none of them accepts,
  a field missing, a field added: all refused as ChannelError.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import wait_page
from .test_page_worker import _live

# The scenarios run in one page; each returns what happened.
_PAGE_SIDE = """
const [base, done] = arguments;
(async () => {
  const { DecodeWorker } = await import(base + "app/decoding.js");
  const escaped = [];
  const onErr = (e) => escaped.push(String((e.error && e.error.message) || e.message || e.reason));
  window.addEventListener("error", onErr);
  window.addEventListener("unhandledrejection", onErr);
  const made = [];
  class Fake extends EventTarget {
    constructor() { super(); this.posted = []; this.terminated = false; made.push(this); }
    postMessage(m) { this.posted.push(m); }
    terminate() { this.terminated = true; }
    send(data, clone = true) {
      const cloned = clone ? structuredClone(data) : data;
      this.dispatchEvent(new MessageEvent("message", { data: cloned }));
    }
  }
  const probe = { h264_444: false, h264_420: false, detail: {} };
  const bitmap = (w, h) => createImageBitmap(new ImageData(w, h));
  const upd = () => { const b = new ArrayBuffer(8); new Uint8Array(b)[3] = 1; return b; };
  const other = () => { const b = new ArrayBuffer(8); new Uint8Array(b)[3] = 2; return b; };
  const doneMsg = (id, more = {}) => ({ t: "done", id, kind: "update", width: 4, height: 4, ms: 1,
    pictures: 0, error: "", tiles: [], cursor: null, ...more });
  const tick = () => new Promise((r) => setTimeout(r, 0));

  async function run(name, body) {
    const log = [];
    const before = made.length;
    const Native = window.Worker;
    window.Worker = Fake;
    let dw;
    try {
      dw = new DecodeWorker({ url: "fake.js", mode: "bitmap", canvas: null,
        onAnswer: (e, m) => log.push(`answer ${e.t} ${e.id} ${m.t} ${m.kind || ""}`.trim()),
        onLost: (e, r) => log.push(`lost ${e.t} ${e.id}: ${r}`),
        onFailed: (r) => log.push(`failed: ${r}`),
        onRestored: () => log.push("restored") });
      const ready = dw.start();
      const w = made[made.length - 1];
      const extra = await body(dw, w, ready, log);
      await tick();
      return { name, log, workers: made.length - before, terminated: w.terminated,
        failures: dw.failures, ...(extra || {}) };
    } catch (e) {
      return { name, error: String((e && e.stack) || e) };
    } finally {
      window.Worker = Native;
    }
  }
  const readyUp = async (w, ready) => { w.send({ t: "ready", probe }); await ready; };
  const results = [];
  const S = (name, body) => results.push(run(name, body));

  await (S("good", async (dw, w, ready) => {
    await readyUp(w, ready);
    dw.decode(upd()); dw.blank(); dw.decode(other());
    w.send(doneMsg(1, { tiles: [{ x: 2, y: 2, bitmap: await bitmap(2, 2) }] }));
    w.send({ t: "painted", id: 2, width: 0, height: 0, tiles: [] });
    w.send(doneMsg(3, { kind: "ignored", width: 0, height: 0 }));
    w.send({ t: "restored" });
  }), results.at(-1));
  await (S("ids_wrap", async (dw, w, ready) => {
    await readyUp(w, ready);
    dw.nextId = 2 ** 32 - 1;
    dw.decode(upd()); dw.decode(upd());
    w.send(doneMsg(2 ** 32 - 1)); w.send(doneMsg(0));
  }), results.at(-1));
  await (S("wrong_id", async (dw, w, ready) => {
    await readyUp(w, ready);
    dw.decode(upd()); dw.blank();
    w.send(doneMsg(2));
  }), results.at(-1));
  await (S("unasked", async (dw, w, ready) => { await readyUp(w, ready); w.send(doneMsg(1)); }),
    results.at(-1));
  await (S("before_ready", async (dw, w, ready) => {
    let rejected = "";
    ready.catch((e) => (rejected = e.message));
    dw.decode(upd());
    w.send(doneMsg(1));
    await tick();
    dw.decode(upd()); // no worker any more: lost at once
    const read = await dw.read();
    return { rejected, read };
  }), results.at(-1));
  await (S("ready_twice", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(upd()); w.send({ t: "ready", probe });
  }), results.at(-1));
  await (S("done_to_blank", async (dw, w, ready) => {
    await readyUp(w, ready); dw.blank(); w.send(doneMsg(1));
  }), results.at(-1));
  await (S("painted_to_update", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(upd());
    w.send({ t: "painted", id: 1, width: 0, height: 0, tiles: [] });
  }), results.at(-1));
  await (S("cursor_to_update", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(upd()); w.send(doneMsg(1, { kind: "cursor" }));
  }), results.at(-1));
  await (S("refused_to_other", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(other()); w.send(doneMsg(1, { kind: "refused" }));
  }), results.at(-1));
  await (S("pixels_of_another_size", async (dw, w, ready) => {
    await readyUp(w, ready);
    const read = dw.read();
    w.send({ t: "pixels", id: 1, width: 2, height: 2, data: new Uint8ClampedArray(4) });
    return { read: await read };
  }), results.at(-1));
  await (S("tile_outside", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(upd());
    const b = await bitmap(2, 2);
    w.send(doneMsg(1, { tiles: [{ x: 3, y: 0, bitmap: b }] }), false);
    return { closed: b.width === 0 };
  }), results.at(-1));
  await (S("tile_outside_painted", async (dw, w, ready) => {
    await readyUp(w, ready); dw.repaint();
    const tiles = [{ x: 0, y: 3, bitmap: await bitmap(1, 2) }];
    w.send({ t: "painted", id: 1, width: 4, height: 4, tiles });
  }), results.at(-1));
  for (const [name, data] of [["null", null], ["number", 5], ["string", "done"],
      ["array", [doneMsg(1)]], ["map", new Map([["t", "done"]])], ["date", new Date(0)],
      ["own_proto", JSON.parse('{"t": "restored", "__proto__": {"x": 1}}')],
      ["extra_field", doneMsg(1, { extra: 1 })], ["missing_field", { t: "restored", x: 1 }],
      ["bigint_id", doneMsg(1n)], ["error_too_long", doneMsg(1, { error: "e".repeat(501) })]]) {
    await (S(`malformed_${name}`, async (dw, w, ready) => {
      await readyUp(w, ready); dw.decode(upd()); w.send(data);
    }), results.at(-1));
  }
  await (S("error_event", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(upd());
    w.dispatchEvent(new ErrorEvent("error", { message: "boom" }));
  }), results.at(-1));
  await (S("messageerror", async (dw, w, ready) => {
    await readyUp(w, ready); dw.decode(upd()); w.dispatchEvent(new MessageEvent("messageerror"));
  }), results.at(-1));
  await (S("a_failed_worker_is_not_heard", async (dw, w, ready) => {
    await readyUp(w, ready);
    dw.decode(upd());
    w.send(doneMsg(7));
    const next = made[made.length - 1];
    dw.decode(upd()); // id 2, to the new worker
    w.send(doneMsg(2)); // the old one still talks: not heard
    w.dispatchEvent(new ErrorEvent("error", { message: "late" }));
    next.send({ t: "ready", probe });
    await dw.ready;
    next.send(doneMsg(2));
    return { newPosted: next.posted.map((m) => m.t) };
  }), results.at(-1));
  const out = await Promise.all(results);
  await tick();
  done({ results: out, escaped });
})().catch((e) => done({ error: String((e && e.stack) || e) }));
"""

_LOST = "lost decode 1: "
_EXPECT: dict[str, tuple[list[str], int]] = {
    # name: (the log, workers started in all); a failed ready worker is replaced
    "good": (["answer decode 1 done update", "answer blank 2 painted",
              "answer decode 3 done ignored", "restored"], 1),
    "ids_wrap": (["answer decode 4294967295 done update", "answer decode 0 done update"], 1),
    "wrong_id": ([_LOST + "an answer out of order", "lost blank 2: an answer out of order",
                  "failed: an answer out of order"], 2),
    "unasked": (["failed: an answer out of order"], 2),
    "before_ready": ([_LOST + "an answer out of order", "failed: an answer out of order",
                      "lost decode 2: no decoder"], 1),
    "ready_twice": ([_LOST + "ready twice", "failed: ready twice"], 2),
    "done_to_blank": (["lost blank 1: a done answer to blank",
                       "failed: a done answer to blank"], 2),
    "painted_to_update": ([_LOST + "a painted answer to decode",
                           "failed: a painted answer to decode"], 2),
    "cursor_to_update": ([_LOST + "a cursor answer to an update",
                          "failed: a cursor answer to an update"], 2),
    "refused_to_other": ([_LOST + "a refused answer to another message",
                          "failed: a refused answer to another message"], 2),
    "pixels_of_another_size": (["failed: pixels of another size"], 2),
    "tile_outside": ([_LOST + "a tile outside the frame", "failed: a tile outside the frame"], 2),
    "tile_outside_painted": (["lost repaint 1: a tile outside the frame",
                              "failed: a tile outside the frame"], 2),
    "error_event": ([_LOST + "the decoder failed: boom", "failed: the decoder failed: boom"], 2),
    "messageerror": ([_LOST + "the decoder's answer could not be read",
                      "failed: the decoder's answer could not be read"], 2),
    "a_failed_worker_is_not_heard": ([_LOST + "an answer out of order",
                                      "failed: an answer out of order",
                                      "answer decode 2 done update"], 2),
}  # fmt: skip
for _name, _why in [("null", "of no known kind"), ("number", "of no known kind"),
                    ("string", "of no known kind"), ("array", "of no known kind"),
                    ("map", "of no known kind"), ("date", "of no known kind"),
                    ("own_proto", "a malformed restored message"),
                    ("extra_field", "a malformed done message"),
                    ("missing_field", "a malformed restored message"),
                    ("bigint_id", "a malformed done message"),
                    ("error_too_long", "a malformed done message")]:  # fmt: skip
    _msg = "worker to page: " + ("a message " + _why if "no known" in _why else _why)
    _EXPECT[f"malformed_{_name}"] = ([_LOST + _msg, "failed: " + _msg], 2)


@pytest.fixture(scope="module")
def page(browser: Any) -> Any:
    live, _ = _live()
    try:
        browser.get(live.url)
        wait_page(browser, lambda s: s["applied"] >= 1, what="page up")
        assert live.web.server is not None
        yield browser, f"/s/{live.web.server.access.static_key}/"
    finally:
        live.close()


@pytest.fixture(scope="module")
def page_side(page: Any) -> dict[str, Any]:
    browser, base = page
    out = browser.execute_async_script(_PAGE_SIDE, base)
    assert "error" not in out, out["error"]
    return {"escaped": out["escaped"], **{r["name"]: r for r in out["results"]}}


@pytest.mark.parametrize("name", sorted(_EXPECT))
def test_the_page_side_of_the_worker_channel(page_side: dict[str, Any], name: str) -> None:
    got = page_side[name]
    assert "error" not in got, got["error"]
    log, workers = _EXPECT[name]
    assert got["log"] == log, got
    assert got["workers"] == workers, got
    failed = any(line.startswith("failed: ") for line in log)
    # failures count since the last ready worker: the new one's ready resets it
    again = name == "a_failed_worker_is_not_heard"
    assert got["terminated"] == failed and got["failures"] == int(failed and not again), got
    assert page_side["escaped"] == []  # nothing thrown out of the page's handlers


def test_what_the_refused_answers_leave(page_side: dict[str, Any]) -> None:
    assert page_side["before_ready"]["rejected"] == "an answer out of order"
    assert page_side["before_ready"]["read"] is None  # no worker: read answers null
    assert page_side["pixels_of_another_size"]["read"] is None
    assert page_side["tile_outside"]["closed"] is True  # the refused answer's bitmaps closed
    assert page_side["a_failed_worker_is_not_heard"]["newPosted"] == ["init", "decode"]


# Every field of every kind (and of a tile, a cursor, its shape, a probe)
# replaced by each value no field accepts; each field removed; one added.
_FUZZ = """
const [base, done] = arguments;
(async () => {
  const ch = await import(base + "worker/channel.js");
  const bitmap = await createImageBitmap(new ImageData(2, 2));
  const canvas = new OffscreenCanvas(4, 4);
  const shape = { width: 1, height: 1, hotX: 0, hotY: 0, rgba: new Uint8ClampedArray(4) };
  const cursor = { x: -3, y: 2, visible: true, shapeId: 5n, known: true, shape };
  const probe = { h264_444: true, h264_420: false, detail: { a: true } };
  const tile = { x: 0, y: 0, bitmap };
  const good = [
    ["w", { t: "init", mode: "offscreen", canvas }],
    ["w", { t: "init", mode: "bitmap", canvas: null }],
    ["w", { t: "decode", id: 0, data: new ArrayBuffer(3) }], ["w", { t: "blank", id: 2 ** 32 }],
    ["w", { t: "repaint", id: 1 }], ["w", { t: "read", id: 1 }],
    ["p", { t: "ready", probe }],
    ["p", { t: "done", id: 1, kind: "update", width: 2, height: 2, ms: 0.5, pictures: 64,
            error: "", tiles: [tile], cursor }],
    ["p", { t: "painted", id: 1, width: 2, height: 2, tiles: [tile] }],
    ["p", { t: "pixels", id: 1, width: 1, height: 1, data: new Uint8ClampedArray(4) }],
    ["p", { t: "pixels", id: 1, width: 0, height: 0, data: null }],
    ["p", { t: "restored" }],
  ];
  class Sub extends Object {}
  const bad = () => [undefined, NaN, Infinity, -Infinity, 1.5, -0.5, 2 ** 53, -(2 ** 53),
    "x".repeat(501),
    [], [1], new Sub(), Object.create(null), new Date(0), new Map(), Symbol("s"),
    () => 1, new Uint8Array(4), new DataView(new ArrayBuffer(4)), -(2n ** 65n), new Number(1),
    new String("update"), new Boolean(true)];
  const check = (side, m) => {
    try { (side === "w" ? ch.checkToWorker : ch.checkToPage)(m); return "passed"; }
    catch (e) { return e instanceof ch.ChannelError ? "refused" : "threw " + e; }
  };
  const label = (v) => {
    try { return String(v); } catch { return Object.prototype.toString.call(v); }
  };
  const wrong = [];
  let tried = 0;
  const expectRefused = (side, m, what) => {
    tried += 1;
    const r = check(side, m);
    if (r !== "refused") wrong.push(`${what}: ${r}`);
  };
  for (const [side, m] of good) {
    if (check(side, m) !== "passed") wrong.push(`good ${m.t}: ${check(side, m)}`);
    // the same message to the other side: no kind is both ways
    expectRefused(side === "w" ? "p" : "w", m, `${m.t} the other way`);
    for (const k of Object.keys(m)) {
      for (const v of bad()) {
        // both good: a fraction of a millisecond, no tiles
        const fine = (k === "ms" && v === 1.5) || (k === "tiles" && Array.isArray(v) && !v.length);
        if (!fine) expectRefused(side, { ...m, [k]: v }, `${m.t}.${k}=${label(v)}`);
      }
      const { [k]: _, ...less } = m;
      expectRefused(side, less, `${m.t} without ${k}`);
      // nested: each field of a tile, the cursor, its shape, the probe
      for (const [inner, parent] of [["tiles", tile], ["cursor", cursor], ["probe", probe]]) {
        if (k !== inner || !m[k]) continue;
        for (const f of Object.keys(parent)) {
          for (const v of bad()) {
            const mod = { ...parent, [f]: v };
            expectRefused(side, { ...m, [k]: inner === "tiles" ? [mod] : mod },
              `${m.t}.${k}.${f}=${label(v)}`);
          }
        }
      }
    }
    expectRefused(side, { ...m, extra: 0 }, `${m.t} with extra`);
    expectRefused(side, { ...m, t: m.t.toUpperCase() }, `${m.t} as ${m.t.toUpperCase()}`);
    const inherited = Object.assign(Object.create({ t: m.t }), m, { t: undefined });
    expectRefused(side, inherited, `${m.t} inherited t`);
  }
  for (const f of Object.keys(shape)) {
    for (const v of [...bad(), 257, 0]) {
      if (v === 0 && f.startsWith("hot")) continue; // 0 is a good hot spot
      expectRefused("p", { ...good[7][1], cursor: { ...cursor, shape: { ...shape, [f]: v } } },
        `cursor.shape.${f}=${label(v)}`);
    }
  }
  done({ tried, wrong });
})().catch((e) => done({ error: String((e && e.stack) || e) }));
"""


def test_the_channel_refuses_every_field_out_of_spec(page: Any) -> None:
    browser, base = page
    out = browser.execute_async_script(_FUZZ, base)
    assert "error" not in out, out["error"]
    assert out["wrong"] == [], out["wrong"][:20]
    assert out["tried"] > 1500, out["tried"]
