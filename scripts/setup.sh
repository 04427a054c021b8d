#!/usr/bin/env bash
# Prerequisites for building and testing Spindle, on a fresh Debian machine that has only
# rustup/cargo. Sourced by scripts/test and scripts/up; can also be run on its own.
# Installs (only what is missing): the wasm32-wasip2 Rust target, a C compiler (rusqlite
# builds SQLite from source), redis-server (the integration tests start real ones) and
# python3-aiosmtpd (a real SMTP server for the notification tests), and Node.js with npm (the
# web player is built with Vite, which needs Node 20.19+ or 22.12+: when the system's is older,
# Node 22 from the npm registry goes under ~/.cache/spindle/node). `install_moto` and
# `install_chromium` (called by scripts/test only) add moto's S3-compatible server in a
# virtualenv under ~/.cache/spindle, for the catalog's S3 media tests, and Debian's chromium for
# the web player's end-to-end tests.
set -euo pipefail

say() { printf '==> %s\n' "$*" >&2; }

SPINDLE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$SPINDLE_ROOT"

# spin.toml names each component's wasm under ./target (as `spin build` expects), so builds go
# there whatever the environment says.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    say "ignoring CARGO_TARGET_DIR=$CARGO_TARGET_DIR: spin.toml expects the components under ./target"
    unset CARGO_TARGET_DIR
fi

# --- Rust target for the components -------------------------------------------------------
if ! command -v rustup >/dev/null 2>&1; then
    say "rustup is not on PATH: install Rust with rustup (https://rustup.rs) first" >&2
    exit 1
fi
installed_targets="$(rustup target list --installed)"
if ! grep -qx 'wasm32-wasip2' <<<"$installed_targets"; then
    say "rustup target add wasm32-wasip2"
    rustup target add wasm32-wasip2
fi

# --- Debian packages ----------------------------------------------------------------------
missing_packages=()
command -v cc >/dev/null 2>&1 || missing_packages+=(gcc libc6-dev)
command -v redis-server >/dev/null 2>&1 || missing_packages+=(redis-server)
# The notification tests deliver mail to a real SMTP server: Debian's aiosmtpd.
/usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing_packages+=(python3-aiosmtpd)

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    SUDO=(sudo)
fi

# Installs Debian packages with apt-get, saying so.
apt_install() {
    if ! command -v apt-get >/dev/null 2>&1; then
        say "missing $* and no apt-get to install them: install them by hand" >&2
        exit 1
    fi
    say "${SUDO[*]:+${SUDO[*]} }apt-get update"
    "${SUDO[@]}" apt-get update
    say "${SUDO[*]:+${SUDO[*]} }apt-get install -y $*"
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing_packages+=(nodejs npm)
fi

if ((${#missing_packages[@]} > 0)); then
    apt_install "${missing_packages[@]}"
fi

# --- Node.js new enough for Vite ----------------------------------------------------------
node_is_recent() {
    node -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a >= 23 ? 0 : 1)' 2>/dev/null
}
# Debian 12's nodejs is 18. The npm registry carries Node's own binaries (the packages the
# `node` package installs from) and npm itself with its dependencies bundled, so an older
# system Node fetches Node 22 and npm 10 once with its npm. (Debian's own npm cannot run on
# another Node: its dependencies live where only Debian's node looks.)
if ! node_is_recent; then
    node_cache="${XDG_CACHE_HOME:-$HOME/.cache}/spindle/node"
    if ! PATH="$node_cache/bin:$PATH" node_is_recent || [ ! -f "$node_cache/lib/npm/bin/npm-cli.js" ]; then
        arch="$(node -p process.arch)"
        say "Node.js $(node --version) is too old for Vite: fetching node-linux-$arch@22 and npm@10 from the npm registry into $node_cache"
        rm -rf "$node_cache" && mkdir -p "$node_cache/lib/npm"
        (
            cd "$node_cache"
            npm pack --silent "node-linux-$arch@22" "npm@10" >/dev/null
            tar xzf node-linux-*.tgz --strip-components=1 && rm node-linux-*.tgz
            tar xzf npm-*.tgz --strip-components=1 -C lib/npm && rm npm-*.tgz
        )
        rm -f "$node_cache/bin/npm" "$node_cache/bin/npx"
        printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/npm/bin/npm-cli.js" "$@"\n' "$node_cache" "$node_cache" >"$node_cache/bin/npm"
        printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/npm/bin/npx-cli.js" "$@"\n' "$node_cache" "$node_cache" >"$node_cache/bin/npx"
        chmod +x "$node_cache/bin/npm" "$node_cache/bin/npx"
    fi
    export PATH="$node_cache/bin:$PATH"
fi

# --- moto: a real S3-compatible server for the catalog's S3 media tests --------------------
# tests/src/s3.rs runs $SPINDLE_CACHE/moto/bin/moto_server (keep the two paths equal). It comes
# from PyPI into a virtualenv (Debian refuses system-wide pip), so only the tests install it.
install_moto() {
    local version="5.2.5"
    local cache="${XDG_CACHE_HOME:-$HOME/.cache}/spindle"
    local venv="$cache/moto"
    if "$venv/bin/python" -c "import moto, flask, flask_cors, sys; sys.exit(moto.__version__ != '$version')" >/dev/null 2>&1; then
        return
    fi
    if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        apt_install python3-venv
    fi
    say "installing moto $version (S3-compatible test server) into $venv"
    mkdir -p "$cache"
    /usr/bin/python3 -m venv --clear "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[s3,server]==$version"
}

# --- Chromium: the browser the web player's end-to-end tests drive -------------------------
# tests/tests/web.rs runs web/e2e with playwright-core against /usr/bin/chromium (Debian's; a
# browser download by a test tool would not reach this network).
install_chromium() {
    if [ ! -x /usr/bin/chromium ]; then
        apt_install chromium
    fi
}
