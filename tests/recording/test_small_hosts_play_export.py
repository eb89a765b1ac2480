"""``recordings play`` and ``export`` take ``--hosts`` as ``verify`` does
(docs/recording.md, "Host signatures"): the recording's verdict is said
first in verify's words (signed by a pinned host to its end, or why not),
and one that is no pinned host's recording is NOT shown, with verify's exit
status: 4 unsigned (a forgery sealed with the auditor's public key), 5
signed by a host key not pinned, 6 signed in part, 8 signed after its key's
revocation; 1 for one changed after signing. ``--unverified`` shows it all
the same, every output marked. Before, neither took ``--hosts``: they never
said whether a recording came from a known host, and showed a forged one.

Real recordings: written by the host's own writer and signed with real host
keys (test_signed_attacks.signed), forged by synth (test_signed_attacks);
the auditor runs the installed command, a process of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from screencodec.recording import generate_host_keypair, generate_keypair
from screencodec.recording.sign import host_key_id, load_host_public_key, load_pins, revoke_host

from .synth import synth
from .test_attack_craft import START, cli, no_traceback
from .test_signed_attacks import _attacked, signed, split, write


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """h1, h2 (pinned in pins.pub; h2 revoked as of START + 0.6), rogue (not
    pinned), aud (the auditor)."""
    d = tmp_path_factory.mktemp("small-keys")
    for name in ("h1", "h2", "rogue"):
        generate_host_keypair(d / f"{name}.key", d / f"{name}.pub")
    generate_keypair(d / "aud.key", d / "aud.pub")
    (d / "pins.pub").write_text((d / "h1.pub").read_text() + (d / "h2.pub").read_text())
    revoke_host(d / "pins.pub", load_pins(d / "h2.pub").keys[_kid(d, "h2")], START + 0.6)
    return d


def _kid(keys: Path, name: str) -> str:
    return host_key_id(load_host_public_key(keys / f"{name}.pub"))


def _recording(kind: str, keys: Path, d: Path) -> Path:
    """A sealed recording (for ``aud``) of each kind."""
    aud = keys / "aud.pub"
    if kind == "pinned":
        return signed(d / "pinned.screc", keys / "h1.key", auditor=aud)
    if kind == "forged":  # anyone has the auditor's public key
        return synth(d / "forged", frames=4, auditor=aud)[0]
    if kind == "forged-rogue-key":
        return synth(d / "rogue", frames=4, auditor=aud, signer=keys / "rogue.key")[0]
    if kind == "tail-appended":
        a = split(signed(d / "a.screc", keys / "h1.key"))
        return write(d / "tail.screc", _attacked("tail_appended", a, a, keys))
    if kind == "revoked":  # h2 signed at START + 0.4 .. + 1.0, revoked as of + 0.6
        return signed(d / "revoked.screc", keys / "h2.key", auditor=aud)
    if kind == "changed-after-signing":
        a = split(signed(d / "a.screc", keys / "h1.key"))
        return write(d / "changed.screc", _attacked("chain_recomputed", a, a, keys))
    raise AssertionError(kind)


def _key(path: Path, keys: Path) -> list[object]:
    """--key for a sealed recording (the crafted plain ones take none)."""
    return [] if path.name in ("tail.screc", "changed.screc") else ["--key", keys / "aud.key"]


CASES = [
    ("pinned", 0, "complete: 16 chunks, 10 updates, 1.000 s; signed by pinned host {h1}: "
                  "every chunk"),
    ("forged", 4, "unsigned: NOT verified as a host's recording: it carries no host "
                  "signature"),
    ("forged-rogue-key", 5, "unpinned: NOT verified as a host's recording: signed by host key "
                            "{rogue}, which is NOT among the pinned hosts"),
    ("tail-appended", 6, "signed-prefix: signed by pinned host {h1} up to chunk 11"),
    ("revoked", 8, "revoked: NOT verified: signed by pinned host {h2}, whose key is revoked"),
    ("changed-after-signing", 1, "damaged: "),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "code", "says"), CASES, ids=[c[0] for c in CASES])
def test_small_play_and_export_give_verifys_verdict_and_status_with_hosts(
    keys: Path, tmp_path: Path, kind: str, code: int, says: str
) -> None:
    path = _recording(kind, keys, tmp_path)
    pins = ["--hosts", keys / "pins.pub"]
    words = says.format(h1=_kid(keys, "h1"), h2=_kid(keys, "h2"), rogue=_kid(keys, "rogue"))
    verified = cli("verify", path, *_key(path, keys), *pins, "--no-pictures")
    assert verified.returncode == code and f"{path}: {words}" in verified.stdout, verified.stdout
    out = tmp_path / "out"
    played = cli("play", path, *_key(path, keys), *pins, "--at", "0.5", "--out", out)
    exported = cli("export", path, *_key(path, keys), *pins, "--log", tmp_path / "log.jsonl",
                   "--png-every", "0.5", out)  # fmt: skip
    for done in (played, exported):
        no_traceback(done)
        assert done.returncode == code, (done.stdout, done.stderr)
        if code == 0:  # shown, its verdict said first, as verify says it
            assert done.stdout.startswith(f"{path}: {words}"), done.stdout
        else:  # refused, in verify's words, nothing written
            assert f"{path}: {words}" in done.stderr, done.stderr
            assert f"NOT shown: `recordings verify --hosts` says the same (exit {code})" in (
                done.stderr)  # fmt: skip
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if code == 0:
        assert "pinned_t00000.500.png" in written and (tmp_path / "log.jsonl").exists()
    else:
        assert written == [] and not (tmp_path / "log.jsonl").exists(), written


def test_small_unverified_shows_a_forgery_marked_with_verifys_status(
    keys: Path, tmp_path: Path
) -> None:
    path = _recording("forged-rogue-key", keys, tmp_path)
    args = ["--key", keys / "aud.key", "--hosts", keys / "pins.pub", "--unverified"]
    played = cli("play", path, *args, "--at", "0.1", "--out", tmp_path / "out")
    no_traceback(played)
    assert played.returncode == 5, played.stderr
    assert "UNVERIFIED: unpinned: NOT verified as a host's recording" in played.stderr
    (png,) = (tmp_path / "out").iterdir()
    assert png.name.endswith(".UNVERIFIED.png"), png.name
    exported = cli("export", path, *args, "--mp4", tmp_path / "f.mp4")
    assert exported.returncode == 5 and "UNVERIFIED" in exported.stdout, exported.stdout


def test_small_without_hosts_nothing_changes(keys: Path, tmp_path: Path) -> None:
    """The control: without --hosts, a forgery's chunks are whole, and play
    and export show it as before, saying nothing of a signature."""
    path = _recording("forged", keys, tmp_path)
    played = cli("play", path, "--key", keys / "aud.key", "--at", "0.1", "--out", tmp_path)
    assert played.returncode == 0 and "signed" not in played.stdout, played.stdout


def test_small_play_web_refuses_a_forgery_before_any_page(keys: Path, tmp_path: Path) -> None:
    """The page marks nothing: with --hosts, --web refuses what verify
    --hosts does not verify as a pinned host's, before it listens."""
    pytest.importorskip("aiohttp")
    path = _recording("forged-rogue-key", keys, tmp_path)
    done = cli("play", path, "--key", keys / "aud.key", "--hosts", keys / "pins.pub", "--web",
               "--no-open", timeout=60)  # fmt: skip
    no_traceback(done)
    assert done.returncode == 5, done.stderr
    assert "unpinned: NOT verified as a host's recording" in done.stderr
    assert "recording player: http" not in done.stdout, done.stdout
