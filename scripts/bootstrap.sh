#!/usr/bin/env bash
# Sets up a fresh Debian machine for screencodec: the Debian packages the
# project needs (installed when running as root), a virtualenv in .venv, and
# the project in editable mode with its test and development tools.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xdotool >/dev/null || need+=(xdotool)
command -v xterm >/dev/null || need+=(xterm)
# Clipboard sharing on X11 (cli/clipboard_x11.py) and its tests.
command -v xclip >/dev/null || need+=(xclip)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv python3-pip)
"$PYTHON" - <<'PY' 2>/dev/null || need+=(python3-dev)
import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY
command -v tc >/dev/null || need+=(iproute2)
# The web viewer's tests drive a real headless Chromium and run the JS decoder
# under node; the relay's tests start a real redis-server; recordings are
# checked with ffprobe.
command -v node >/dev/null || need+=(nodejs)
command -v chromium >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
command -v redis-server >/dev/null || need+=(redis-server)
command -v ffprobe >/dev/null || need+=(ffmpeg)
# A received file's fsync is checked under strace, and the no-hard-link
# fallback on a real FAT file system (mkfs.vfat, mounted through fusefat:
# containers often have no vfat module).
command -v strace >/dev/null || need+=(strace)
command -v mkfs.vfat >/dev/null || need+=(dosfstools)
command -v fusefat >/dev/null || need+=(fusefat)

if ((${#need[@]})); then
    if [ "$(id -u)" = 0 ]; then
        echo "bootstrap: apt-get install ${need[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "bootstrap: missing Debian packages: ${need[*]} (run as root, or install them)" >&2
        exit 1
    fi
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel Cython
# Metadata and dependencies only: `make build` compiles the extensions in place
# (an editable install would compile them once more, in a folder of its own).
SCREENCODEC_NO_EXT=1 "$VENV/bin/python" -m pip install -q --no-build-isolation -e '.[dev]'
