#!/usr/bin/env python3
"""Refresh the web viewer's vendored JavaScript from the npm registry.

The page ships its own copies of fzstd (a pure-JS zstd decompressor),
hash-wasm's BLAKE2b (WebAssembly, for the digest of the picture it kept) and
blakejs (BLAKE2b in pure JS, where WebAssembly cannot run) so that it needs
nothing from the internet at run time and has no build step. This script
fetches the package tarball of the pinned version with ``npm pack`` (npm's own
client and registry settings), refuses it unless its sha256 is the pinned one,
applies our small patches (PATCHES: bounds on work that hostile data could
otherwise make unbounded; blakejs's CommonJS and hash-wasm's UMD made ES
modules) and writes the modules, the licence and a VERSION file naming the version, the tarball's
sha256, the patches and the sha256 of each file under
``src/screencodec/web/static/vendor/<package>/``.

Usage: ``python scripts/vendor_js.py`` (refresh) or ``--check`` (verify that
the vendored files are exactly those of the pinned tarball, without writing).
To move to a new version, change ``PINS`` to its version and tarball sha256.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

__all__ = ["PINS", "main"]

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "src" / "screencodec" / "web" / "static" / "vendor"

#: package -> (version, sha256 of the npm tarball, {path in tarball: vendored name})
PINS: dict[str, tuple[str, str, dict[str, str]]] = {
    "fzstd": (
        "0.1.1",
        "5ed2ee2d3439067be211d0093292c708a831045372342c897437e5a4997c45c5",
        {"package/esm/index.mjs": "index.js", "package/LICENSE": "LICENSE"},
    ),
    # BLAKE2b for the digest of the picture the page kept (decoder/kept.js):
    # hash-wasm's WebAssembly build (its one-algorithm bundle), and blakejs
    # (pure JS, 15-40x slower) where WebAssembly cannot run.
    "hash-wasm": (
        "4.13.0",
        "237a2735a3bb8725603a797fea1ba3e455d70e11f338518a65d42dab60182b68",
        {"package/dist/blake2b.umd.min.js": "blake2b.js", "package/LICENSE": "LICENSE"},
    ),
    "blakejs": (
        "1.2.1",
        "3f5010267c1a3c5234fc6eb11820ea8ad63a1c65f447c7135c2cfaf3bba01ede",
        {"package/blake2b.js": "blake2b.js", "package/util.js": "util.js",
         "package/LICENSE": "LICENSE"},
    ),
}

#: (package, vendored name) -> our patches, each (why, exact text, replacement).
#: fzstd trusts its input in two places where hostile data costs unbounded
#: time (the page must never hang on what a host sends): both become errors
#: where libzstd reports corruption. Each text must occur exactly once.
PATCHES: dict[tuple[str, str], list[tuple[str, str, str]]] = {
    ("fzstd", "index.js"): [
        (
            "Huffman weights whose FSE states read 0 bits never reach the end of "
            "their bitstream: stop at 255 weights (libzstd bounds the output)",
            "            hw[++wc] = fdt.s[st1];\n",
            "            if (++wc > 255)\n"
            "                err(0);\n"
            "            hw[wc] = fdt.s[st1];\n",
        ),
        (
            "the same for the second state",
            "            hw[++wc] = fdt.s[st2];\n",
            "            if (++wc > 255)\n"
            "                err(0);\n"
            "            hw[wc] = fdt.s[st2];\n",
        ),
        (
            "a block's sequences may not produce more than the block holds "
            "(without this, 64 kB of sequences made billions of dropped writes)",
            "                for (var i = 0; i < ll; ++i) {\n"
            "                    buf[oubt + i] = buf[spl + i];\n",
            "                if (oubt + ll + ml > buf.length)\n"
            "                    err(0);\n"
            "                for (var i = 0; i < ll; ++i) {\n"
            "                    buf[oubt + i] = buf[spl + i];\n",
        ),
        (
            "streaming keeps its window as a view into a buffer twice its size "
            "(slid once per window of output) instead of shifting the whole "
            "window after every block: 8 MiB moved per block of ZSTREAM before",
            "                    cpw(this.s.w, 0, blk.length);\n"
            "                    this.s.w.set(blk, this.s.w.length - blk.length);\n",
            "                    slide(this.s, blk);\n",
        ),
        (
            "the window slider",
            "var Decompress = /*#__PURE__*/ (function () {\n",
            "// screencodec patch: the window is st.w, a view of its last st.e bytes\n"
            "// ending where the newest output ends in st.W (twice the window and a\n"
            "// block); st.W slides back once it is full.\n"
            "var slide = function (st, blk) {\n"
            "    var ws = st.w.length;\n"
            "    if (!st.W) {\n"
            "        st.W = new u8(2 * ws + 131072);\n"
            "        st.W.set(st.w);\n"
            "        st.E = ws;\n"
            "        st.o = new i32(st.o);\n"
            "    }\n"
            "    if (st.E + blk.length > st.W.length) {\n"
            "        cpw(st.W, 0, st.E - ws, st.E);\n"
            "        st.E = ws;\n"
            "    }\n"
            "    st.W.set(blk, st.E);\n"
            "    st.E += blk.length;\n"
            "    st.w = st.W.subarray(st.E - ws, st.E);\n"
            "};\n"
            "var Decompress = /*#__PURE__*/ (function () {\n",
        ),
    ],
    # hash-wasm's bundle is UMD (it sets a global where there is no module
    # system); the page loads ES modules without a build step.
    ("hash-wasm", "blake2b.js"): [
        ("an ES module: its UMD wrapper made a plain function call",
         '!function(I,A){"object"==typeof exports&&"undefined"!=typeof module?A(exports):'
         '"function"==typeof define&&define.amd?define(["exports"],A):A((I="undefined"!='
         'typeof globalThis?globalThis:I||self).hashwasm=I.hashwasm||{})}(this,function(I){',
         "const hashwasm = {};\n(function(I){"),
        ("an ES module: its functions exported",
         "blockSize:128,digestSize:h};return A})}});\n",
         "blockSize:128,digestSize:h};return A})}})(hashwasm);\n"
         "export const { blake2b, createBLAKE2b } = hashwasm;\n"),
    ],
    # blakejs is CommonJS; the page loads ES modules without a build step.
    ("blakejs", "blake2b.js"): [
        ("an ES module: its helper imported",
         "const util = require('./util')\n", "import util from './util.js'\n"),
        ("an ES module: its functions exported",
         "module.exports = {\n", "export default {\n"),
    ],
    ("blakejs", "util.js"): [
        ("an ES module: its functions exported",
         "module.exports = {\n", "export default {\n"),
    ],
}


def _fetch(name: str, version: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        out = (
            subprocess.run(
                ["npm", "pack", "--silent", "--pack-destination", tmp, f"{name}@{version}"],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()
        )
        return (Path(tmp) / out[-1]).read_bytes()


def _files(tarball: bytes, wanted: dict[str, str]) -> dict[str, bytes]:
    files = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tar:
        for member, target in wanted.items():
            f = tar.extractfile(member)
            if f is None:
                raise SystemExit(f"{member} missing from the tarball")
            files[target] = f.read()
    return files


def _patch(name: str, files: dict[str, bytes]) -> list[str]:
    """Apply PATCHES to ``files`` in place; return what they say, for VERSION."""
    notes = []
    for (package, target), patches in PATCHES.items():
        if package != name:
            continue
        text = files[target].decode()
        for why, old, new in patches:
            if text.count(old) != 1:
                found = text.count(old)
                raise SystemExit(f"{name}/{target}: patch text found {found} times: {why}")
            text = text.replace(old, new)
            notes.append(f"patched {target}: {why}")
        files[target] = text.encode()
    return notes


def _version_file(
    name: str, version: str, digest: str, files: dict[str, bytes], notes: list[str]
) -> bytes:
    lines = [
        f"{name} {version} from the npm registry (refreshed by scripts/vendor_js.py)",
        f"tarball sha256 {digest}",
        *notes,
        *(
            f"{hashlib.sha256(data).hexdigest()}  {target}"
            for target, data in sorted(files.items())
        ),
    ]
    return ("\n".join(lines) + "\n").encode()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, do not write")
    args = parser.parse_args(argv)
    status = 0
    for name, (version, digest, wanted) in PINS.items():
        tarball = _fetch(name, version)
        actual = hashlib.sha256(tarball).hexdigest()
        if actual != digest:
            raise SystemExit(f"{name} {version}: tarball sha256 {actual}, pinned {digest}")
        files = _files(tarball, wanted)
        notes = _patch(name, files)
        files["VERSION"] = _version_file(name, version, digest, files, notes)
        dest = VENDOR / name
        for target, data in files.items():
            path = dest / target
            if args.check:
                if not path.exists() or path.read_bytes() != data:
                    print(f"{path.relative_to(ROOT)} differs from {name} {version}")
                    status = 1
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        print(f"{name} {version}: {'checked' if args.check else 'vendored'} ({digest[:12]})")
    return status


if __name__ == "__main__":
    sys.exit(main())
