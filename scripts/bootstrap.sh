#!/usr/bin/env bash
# Sets up a fresh Debian machine for screencodec: the Debian packages the
# project needs (installed when running as root), a virtualenv in .venv, and
# the project in editable mode with its test and development tools.
#
# The Debian packages only the tests use (Xvfb, Chromium, ffmpeg, redis, ...:
# some 600 packages, ~490 MB to fetch on a bare Debian) are installed in the
# background while pip and the build run, which need none of them; `make test`
# runs `bootstrap.sh --wait` before the suite, which waits for them and fails
# with apt-get's words if they could not be installed.
#
# `--tools`: only the Debian packages, the venv and what the build needs
# (Cython, numpy); `--project`: only the project and its dependencies. make
# runs them as two steps so that the extensions compile (two cores) while
# pip installs the rest (one core): 45 s + 42 s one after the other on a
# fresh 2-core machine (stop 54). No argument: both.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
APT_LOG="$VENV/debian-packages.log"
APT_STATUS="$VENV/debian-packages.status"  # apt-get's exit status, once it ended
APT_PID="$VENV/debian-packages.pid"

# Waits for a background install this script started, if one is on record;
# fails when it failed (and drops make's stamp, so the next make sets up again).
wait_for_packages() {
    [ -e "$APT_PID" ] || return 0
    if [ ! -e "$APT_STATUS" ]; then
        echo "bootstrap: waiting for the Debian packages the tests need (apt-get, log: $APT_LOG)"
        while [ ! -e "$APT_STATUS" ] && kill -0 "$(cat "$APT_PID")" 2>/dev/null; do
            sleep 1
        done
    fi
    local status
    status=$(cat "$APT_STATUS" 2>/dev/null || echo "none: it ended without one")
    rm -f "$APT_PID" "$APT_STATUS"
    if [ "$status" != 0 ]; then
        tail -n 20 "$APT_LOG" >&2 || true
        echo "bootstrap: installing the Debian packages the tests need failed (apt-get status $status; log: $APT_LOG)" >&2
        rm -f "$VENV/.installed"
        return 1
    fi
}

if [ "${1:-}" = --wait ]; then
    wait_for_packages
    exit
fi
MODE=${1:-all}
case "$MODE" in --tools|--project|all) ;; *) echo "bootstrap: unknown option $MODE" >&2; exit 2;; esac

install_project() {
    # Metadata and dependencies only: `make build` compiles the extensions in
    # place (an editable install would compile them once more, in a folder of
    # its own).
    SCREENCODEC_NO_EXT=1 "$VENV/bin/python" -m pip install -q --no-build-isolation -e '.[dev]'
}
if [ "$MODE" = --project ]; then
    install_project
    exit
fi
# One apt-get at a time (dpkg's lock): one still running from the last setup
# ends first, and what it installed is not asked for again.
wait_for_packages || true

# What the venv, the build and the demo (the synthetic desktop's text is
# DejaVu) need: installed first, before anything else.
build_need=()
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || build_need+=(fonts-dejavu-core)
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null || build_need+=(python3-venv python3-pip)
"$PYTHON" - <<'PY' 2>/dev/null || build_need+=(python3-dev)
import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))
PY

# What only the tests (and a real screen's host) use.
need=()
command -v Xvfb >/dev/null || need+=(xvfb)
command -v xdotool >/dev/null || need+=(xdotool)
command -v xterm >/dev/null || need+=(xterm)
# Clipboard sharing on X11 (cli/clipboard_x11.py) and its tests.
command -v xclip >/dev/null || need+=(xclip)
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

if ((${#build_need[@]} + ${#need[@]})) && [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages: ${build_need[*]} ${need[*]} (run as root, or install them)" >&2
    exit 1
fi
updated=
if ((${#build_need[@]})); then
    echo "bootstrap: apt-get install ${build_need[*]}"
    apt-get update -qq
    updated=1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${build_need[@]}" >/dev/null
fi

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
if ((${#need[@]})); then
    echo "bootstrap: apt-get install ${need[*]} (in the background; make test waits for it before the suite; log: $APT_LOG)"
    rm -f "$APT_STATUS"
    (
        set +e
        { [ -n "$updated" ] || apt-get update -qq; } &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
        echo $? > "$APT_STATUS"
    ) > "$APT_LOG" 2>&1 < /dev/null &
    echo $! > "$APT_PID"
fi
# The build's own needs (pyproject.toml's build-system, and numpy's headers).
"$VENV/bin/python" -m pip install -q --upgrade pip setuptools wheel Cython numpy
[ "$MODE" = --tools ] || install_project
