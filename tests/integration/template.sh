#!/bin/sh
# The provider template builds out of tree against an installed msgsec and
# loads through the real loader.
#
#   tests/integration/template.sh [SRCDIR]
#
# Configures msgsec from SRCDIR (default: the tree holding this script)
# in a fresh temporary directory with a temporary --prefix, so that no
# existing build or installation is touched; installs it there; copies the
# installed template, builds it with only pkg-config (PKG_CONFIG_PATH at
# the prefix), installs it into the prefix's provider directory, and loads
# it with the installed `msgsec providers` and `msgsec-provider-check`.
# Extra configure arguments: MSGSEC_CONFIGURE_FLAGS (e.g. CC=clang).
# Everything is removed on exit. Exit status 0 only when all steps passed.
set -eu
umask 022 # the loader refuses group- or world-writable module directories

srcdir=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
srcdir=$(cd "$srcdir" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/msgsec-template.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT TERM
prefix=$work/prefix
jobs=$(nproc 2>/dev/null || echo 2)

step() { printf '== %s\n' "$*"; }
fail() {
    printf 'template.sh: FAIL: %s\n' "$*" >&2
    exit 1
}
# Runs a command quietly; shows its output when it fails.
quiet() {
    log=$work/step.log
    if ! "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        fail "$*"
    fi
}

step "configure $srcdir into $prefix"
mkdir "$work/build"
cd "$work/build"
# shellcheck disable=SC2086 # word splitting of the extra flags is wanted
quiet "$srcdir/configure" --prefix="$prefix" ${MSGSEC_CONFIGURE_FLAGS:-}
step "build and install msgsec"
quiet make -j"$jobs"
quiet make install

PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
pkg-config --exists msgsec-provider || fail "msgsec-provider.pc not installed"
providerdir=$(pkg-config --variable=providerdir msgsec-provider)
case $providerdir in
"$prefix"/*) ;;
*) fail "providerdir $providerdir is outside $prefix" ;;
esac
[ -f "$prefix/share/msgsec/template/Makefile" ] ||
    fail "template not installed in $prefix/share/msgsec/template"

step "build the installed template out of tree"
cp -R "$prefix/share/msgsec/template" "$work/example"
cd "$work/example"
quiet make
[ -f example.so ] || fail "example.so not built"
exported=$(nm -D --defined-only example.so | awk '$2 == "T" { print $3 }')
[ "$exported" = example_LTX_msgsec_provider_entry ] ||
    fail "example.so exports: $exported"
quiet make install
[ -f "$providerdir/example.so" ] || fail "make install did not reach $providerdir"

step "conformance kit (the template's make check)"
make check || fail "msgsec-provider-check failed on the template"

step "load it with msgsec providers"
sum=$(sha256sum "$providerdir/example.so" | cut -d' ' -f1)
cat >"$work/policy.conf" <<CONF
[core]
provider_dir   = $providerdir
allow_insecure = yes

[provider.example]
support    = mandatory
sha256     = $sum
max_record = 4096

[service.lab]
use         = example
negotiation = explicit
CONF
chmod 600 "$work/policy.conf"
"$prefix/bin/msgsec" providers -c "$work/policy.conf" >"$work/out" 2>&1 ||
    { cat "$work/out"; fail "msgsec providers refused the template"; }
cat "$work/out"
grep -q '^provider example$' "$work/out" || fail "example not listed"
grep -q 'status *loaded' "$work/out" || fail "example not loaded"

step "a wrong pin makes the mandatory provider fail"
sed "s/^sha256 .*/sha256     = $(printf '%064d' 0)/" "$work/policy.conf" \
    >"$work/bad.conf"
chmod 600 "$work/bad.conf"
if "$prefix/bin/msgsec" providers -c "$work/bad.conf" >"$work/out" 2>&1; then
    cat "$work/out"
    fail "a wrong sha256 pin was accepted"
fi
grep -q 'does not match its pin' "$work/out" ||
    { cat "$work/out"; fail "no pin message"; }

step "template.sh: all steps passed"
