#!/usr/bin/env bash
# Prerequisites for building and testing Spindle, on a fresh Debian machine that has only
# rustup/cargo. Sourced by scripts/test and scripts/up; can also be run on its own.
# Installs (only what is missing): the wasm32-wasip2 Rust target, a C compiler (rusqlite
# builds SQLite from source), redis-server (the integration tests start real ones) and
# python3-aiosmtpd (a real SMTP server for the notification tests). `install_moto` (called by
# scripts/test only) adds moto's S3-compatible server in a virtualenv under ~/.cache/spindle,
# for the catalog's S3 media tests.
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

if ((${#missing_packages[@]} > 0)); then
    apt_install "${missing_packages[@]}"
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
