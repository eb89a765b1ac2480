"""A session resumed twice is three recordings, chained (rec32): ``play``
and ``export`` given the last file (or the folder) show the parts in order
as one session, and say where a part is missing or broken in ``verify``'s
words (it showed the last part alone: an auditor saw a third of the
session); ``verify`` of a sealed chain without ``--key`` says the chain was
NOT checked (the names are in the sealed log), and of an unsigned chain
that anyone with the files could have rewritten it. Real Host and Viewers
over loopback through a proxy the test cuts (test_resume's set-up),
recorded by the real Recorder; the real CLI in a subprocess; ffprobe for
the MP4."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from screencodec.recording import (
    Player,
    Recorder,
    RecordingReader,
    generate_host_keypair,
    generate_keypair,
)
from screencodec.recording.reader import SEALED_CHAIN, UNSIGNED_CHAIN
from transport.helpers import run
from transport.test_resume import _granted, _lose, _Setup
from transport.test_resume_kept import _join
from warm_start import warm_popen
from web.conftest import browser  # noqa: F401 (the fixture: a headless Chromium)

from .helpers import until
from .test_attack_craft import cli, no_traceback


def _session(directory: Path, parts: int, **recorder: Any) -> list[Path]:
    """A real session of ``parts`` links, each resumed from the one before on
    the picture it kept; its recordings in order."""

    async def main() -> Any:
        rec = Recorder(directory, host_id="test-host", **recorder)
        async with _Setup(recorder=rec) as s:
            viewer, task, tap = await _join(s)
            await _granted(viewer)
            for k in range(parts):
                await until(lambda t=tap: len(t.updates) >= 3, 10, "updates")
                if k == parts - 1:
                    break
                await _lose(s, viewer, task)
                viewer, task, tap = await _join(s, resume=viewer.resume_ticket,
                                                picture=viewer.kept_picture)  # fmt: skip
                await _granted(viewer)
            await viewer.bye()
            await task
        sessions = await asyncio.to_thread(rec.wait, parts, timeout=20.0)
        await asyncio.to_thread(rec.close)
        return sessions

    paths = [x.path for x in sorted(run(main(), 120), key=lambda x: x.start_unix)]
    assert len(paths) == parts
    return paths


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """An unsigned, plain session resumed twice: three files, first to last."""
    return _session(tmp_path_factory.mktemp("chain"), 3)


def _copy(chain: list[Path], tmp_path: Path) -> list[Path]:
    """The chain's files in a folder of their own (a test changes them)."""
    d = tmp_path / "rec"
    d.mkdir()
    return [Path(shutil.copy2(p, d / p.name)) for p in chain]


def _offsets(chain: list[Path]) -> list[float]:
    """Each part's start in the session: its HEADER's start after the first's."""
    starts = []
    for path in chain:
        with RecordingReader(path) as r:
            starts.append(r.start_unix)
    return [s - starts[0] for s in starts]


def _last_picture(path: Path) -> tuple[float, np.ndarray]:
    """(time of its last update, its picture as RGB) of one recording."""
    with RecordingReader(path) as r:
        fb = Player(r).frame_after(r.update_count)
        assert fb is not None
        return r.update_time(r.update_count - 1), np.array(fb[:, :, 2::-1])


def test_play_of_the_last_file_plays_the_session_resumed_twice(
    chain: list[Path], tmp_path: Path,
) -> None:
    """Each part's last picture at its time in the session, the log of all
    three in order; the old play showed the last part alone."""
    offsets = _offsets(chain)
    assert offsets == sorted(offsets) and offsets[1] > 0
    wanted = []
    for path, offset in zip(chain, offsets, strict=True):
        t, picture = _last_picture(path)
        wanted.append((round(offset + t + 0.0005, 3), picture))
    done = cli("play", chain[-1], "--at", *[t for t, _ in wanted], "--out", tmp_path,
               "--no-cursor", "--events")  # fmt: skip
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    for k, path in enumerate(chain):
        assert f"{path}: " in done.stdout and f"(part {k + 1} of 3, from t=" in done.stdout
    assert f"{chain[-1]}: one session of 3 parts" in done.stdout, done.stdout
    for t, picture in wanted:
        png = tmp_path / f"{chain[-1].stem}_t{t:09.3f}.png"
        assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), picture), t
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    hellos = [e for e in events if e["type"] == "hello"]
    assert [e["file"] for e in hellos] == [p.name for p in chain]
    times = [e["t"] for e in events]
    assert times == sorted(times)
    assert hellos[2]["t"] >= offsets[2]


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")
def test_export_of_the_folder_is_the_whole_session(chain: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "s.mp4"
    done = cli("export", chain[0].parent, "--mp4", out, "--fps", "100",
               "--log", tmp_path / "s.jsonl")  # fmt: skip
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                            "-of", "default=nw=1:nk=1", str(out)], capture_output=True,
                           text=True, timeout=60, check=True)  # fmt: skip
    with RecordingReader(chain[-1]) as r:
        session = _offsets(chain)[-1] + r.duration
        # The export's check below tells the whole session from its last
        # part: they differ by far more than its 11 ms (the hosts' synthetic
        # desktop paced at its 30 fps since live54 fills the parts slower).
        assert session - r.duration > 0.2, (session, r.duration)
    assert abs(float(probe.stdout) - session) <= 0.011, (probe.stdout, session)
    lines = [json.loads(x) for x in (tmp_path / "s.jsonl").read_text().splitlines()]
    sessions = [x for x in lines if x["type"] == "session"]
    assert [x["file"] for x in sessions] == [p.name for p in chain]
    # walk43: it said "N events" of a file of N + 3 lines.
    said = (f"s.jsonl: {len(lines)} lines: 3 session lines (one a part, before its events)"
            f" and {len(lines) - 3} events\n")  # fmt: skip
    assert said in done.stdout, done.stdout
    assert sessions[0]["offset"] == 0.0 < sessions[1]["offset"] < sessions[2]["offset"]


def test_a_missing_part_is_said_and_the_rest_played(chain: list[Path], tmp_path: Path) -> None:
    files = _copy(chain, tmp_path)
    files[0].unlink()  # pruned, or not copied along
    done = cli("play", files[-1], "--at", "0", "--out", tmp_path)
    no_traceback(done)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (f"{files[1]}: resumes the session of {files[0].name}, which is not in this "
            "directory; the session is played from this file on") in done.stdout, done.stdout
    assert "one session of 2 parts" in done.stdout, done.stdout


@pytest.mark.parametrize("how", ["play", "export"])
def test_a_broken_link_is_said_as_verify_says_it_and_exits_10(
    chain: list[Path], tmp_path: Path, how: str,
) -> None:
    """The first file is not the one the second names: verify exits 10, and so
    do play and export, which show the session from the second file on."""
    files = _copy(chain, tmp_path)
    whole = files[0].read_bytes()
    files[0].write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))
    verify = cli("verify", files[-1], files[1])
    assert verify.returncode == 10, verify.stdout
    words = (f"resumes the session of {files[0].name}, but the file of that name here is NOT "
             "the one it names (SHA-256 differs)")  # fmt: skip
    assert words in verify.stdout
    args = (["--at", "0", "--out", tmp_path] if how == "play"
            else ["--log", tmp_path / "s.jsonl"])  # fmt: skip
    done = cli(how, files[-1], *args)
    no_traceback(done)
    assert done.returncode == 10, done.stdout + done.stderr
    assert f"{files[1]}: {words}" in done.stdout, done.stdout
    assert "one session of 2 parts" in done.stdout, done.stdout
    assert f"{files[1]}: the chain is broken before it (verify exits 10)" in done.stderr


def test_a_folder_of_two_sessions_is_refused_naming_their_last_files(
    chain: list[Path], tmp_path: Path,
) -> None:
    files = _copy(chain, tmp_path)
    shutil.copy2(files[0], files[0].with_name("20200101T000000Z-other.screc"))
    done = cli("play", files[0].parent, "--out", tmp_path)
    no_traceback(done)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "2 sessions end in this folder" in done.stderr, done.stderr
    assert files[-1].name in done.stderr and "20200101T000000Z-other.screc" in done.stderr


def test_verify_says_an_unsigned_chain_could_have_been_rewritten(
    chain: list[Path], tmp_path: Path,
) -> None:
    done = cli("verify", chain[0].parent)
    assert done.returncode == 0, done.stdout
    said = {line.split(": ", 1)[0]: line for line in done.stdout.splitlines()}
    for earlier, path in itertools.pairwise(chain):
        assert said[str(path)].endswith(
            f"resumes the session of {earlier.name}: the file here is the one it names "
            f"(SHA-256); {UNSIGNED_CHAIN}"), said[str(path)]  # fmt: skip
    assert "resumes" not in said[str(chain[0])]
    # Signed by a pinned host, the names are the host's: not said to be forgeable.
    generate_host_keypair(tmp_path / "desk.key", tmp_path / "desk.pub")
    first, second = _session(tmp_path / "rec", 2, signer=tmp_path / "desk.key")
    done = cli("verify", second, first, "--hosts", tmp_path / "desk.pub")
    assert done.returncode == 0, done.stdout
    (line,) = [x for x in done.stdout.splitlines() if x.startswith(f"{second}: ")]
    assert line.endswith(f"resumes the session of {first.name}: the file here is the one it "
                         "names (SHA-256)"), line  # fmt: skip
    assert UNSIGNED_CHAIN not in done.stdout


def test_a_sealed_chain_without_key_is_said_not_checked_and_with_it_is_checked(
    tmp_path: Path,
) -> None:
    """The ``earlier`` a resumed link names is in its log, sealed with the rest:
    without the key nothing says which file it resumes (or that it resumes
    one), so its line says the chain was NOT checked (it said nothing)."""
    generate_keypair(tmp_path / "aud.key", tmp_path / "aud.pub")
    first, second = _session(tmp_path / "rec", 2, auditor=tmp_path / "aud.pub")
    bare = cli("verify", second, first)
    no_traceback(bare)
    assert bare.returncode == 3, bare.stdout
    lines = bare.stdout.splitlines()
    assert len(lines) == 2 and all(SEALED_CHAIN in x for x in lines), bare.stdout
    keyed = cli("verify", second, first, "--key", tmp_path / "aud.key")
    assert keyed.returncode == 0, keyed.stdout
    (line,) = [x for x in keyed.stdout.splitlines() if x.startswith(f"{second}: ")]
    assert line.endswith(f"resumes the session of {first.name}: the file here is the one it "
                         f"names (SHA-256); {UNSIGNED_CHAIN}"), line  # fmt: skip
    assert SEALED_CHAIN not in keyed.stdout
    played = cli("play", second, "--key", tmp_path / "aud.key", "--out", tmp_path)
    assert played.returncode == 0 and "one session of 2 parts" in played.stdout, played.stdout
    # The folder without the key: its sealed logs say nothing, and it says why.
    folder = cli("play", second.parent, "--out", tmp_path)
    assert folder.returncode == 2 and "is sealed: its content needs the auditor's private key" \
        in folder.stderr, folder.stderr
    # Changed, the earlier file breaks the chain: exit 10 with the key.
    whole = first.read_bytes()
    first.write_bytes(whole[:-1] + bytes([whole[-1] ^ 1]))
    broken = cli("verify", second, "--key", tmp_path / "aud.key")
    assert broken.returncode == 10, broken.stdout


def _web(path: Path) -> tuple[subprocess.Popen[str], str, str]:
    """``recordings play PATH --web --no-open``: (it, what it said first, the link)."""
    proc = warm_popen([sys.executable, "-m", "screencodec", "recordings", "play",
                       str(path), "--web", "--no-open"], stdout=subprocess.PIPE,
                      stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    said = []
    for line in proc.stdout:
        said.append(line)
        match = re.search(r"http://127\.0\.0\.1:\d+/#k=\S+", line)
        if match:
            return proc, "".join(said), match.group(0)
    proc.wait(10)
    raise AssertionError("".join(said) + (proc.stderr.read() if proc.stderr else ""))


def _leave(drv: Any, proc: subprocess.Popen[str]) -> tuple[str, str]:
    drv.find_element("id", "leave").click()
    try:
        return proc.communicate(timeout=15)
    finally:
        proc.kill()
        proc.communicate()


def test_play_web_plays_the_session_and_says_where_its_chain_stops(
    chain: list[Path], browser: Any, tmp_path: Path,  # noqa: F811 (web.conftest's fixture)
) -> None:
    """The page plays the three parts: their events in its log, and a seek
    into the first part shows the first part's picture; with the first file
    gone, its verdict (amber) says a part is missing, in verify's words."""
    from web.conftest import canvas_bgr, wait_page
    from web.test_web_playback import _seek, _settle

    events = 0
    for path in chain:
        with RecordingReader(path) as r:
            events += len(r.events())
    t, picture = _last_picture(chain[0])
    proc, _, url = _web(chain[-1])
    browser.get(url)
    _settle(browser, lambda p: p.get("us") == 0, "the start")
    # And a "link lost" row where each part but the last ended (walk34).
    wait_page(browser, lambda st: browser.execute_script(
        "return window.screencodecPage.events;") == events + len(chain) - 1,
        what="every part's events")  # fmt: skip
    _seek(browser, int(t * 1000) + 1)
    _settle(browser, lambda p: p.get("us", 0) > 0, "the seek")
    assert np.array_equal(canvas_bgr(browser), picture[..., ::-1]), "not the first part's picture"
    out, err = _leave(browser, proc)
    assert proc.returncode == 0, out + err
    # The first file gone: said, and amber on the browser.
    files = _copy(chain, tmp_path)
    files[0].unlink()
    proc, said, url = _web(files[-1])
    assert f"{files[0].name}, which is not in this directory" in said, said
    browser.get(url)
    wait_page(browser, lambda st: browser.execute_script(
        "return window.screencodecPage.verdict") is not None, what="the verdict")
    verdict = browser.execute_script("return window.screencodecPage.verdict;")
    assert verdict["kind"] == "unverified", verdict
    assert verdict["text"].startswith("NOT the whole session: a part is missing: "
                                      f"{files[1].name}: resumes the session of "
                                      f"{files[0].name}, which is not in this directory")
    _leave(browser, proc)
