#!/usr/bin/env bash
# Set up a fresh Debian machine for msgsec, build it, and run either the
# demo or the whole test suite:
#   scripts/bootstrap.sh demo   install what is missing, build, run the demo
#   scripts/bootstrap.sh test   install what is missing, build, run every test
# Runs as root or through sudo. Nothing is downloaded but Debian packages.
set -euo pipefail

mode=${1:-test}
case "$mode" in demo|test) ;; *) echo "usage: $0 demo|test" >&2; exit 2 ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

packages=(build-essential autoconf automake libtool pkg-config
          libssl-dev libltdl-dev libiniparser-dev libcunit1-dev
          libcurl4-openssl-dev libjansson-dev libnghttp2-dev
          openssl gnutls-bin curl clang libclang-rt-dev valgrind)

install_missing() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "== installing: ${missing[*]}"
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {  # build DIR [configure args...]
    local dir=$1; shift
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs")
}

install_missing
echo "== generating the build system"
./autogen.sh >/dev/null 2>&1 || ./autogen.sh

if [ "$mode" = demo ]; then
    build _build --enable-werror
    exec make -s -C _build demo
fi

exec "$top/scripts/test-all.sh" "$top"
