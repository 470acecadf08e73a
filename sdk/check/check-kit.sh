#!/bin/sh
# Runs msgsec-provider-check against modules whose verdict is known.
# Needs the environment `make check` sets (MSGSEC_TEST_BUILDDIR,
# MSGSEC_TEST_PROVIDER_DIR).
set -u
: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
: "${MSGSEC_TEST_PROVIDER_DIR:?set by make check}"
kit="$MSGSEC_TEST_BUILDDIR/sdk/check/msgsec-provider-check"
mods="$MSGSEC_TEST_PROVIDER_DIR/.libs"
template="$MSGSEC_TEST_BUILDDIR/sdk/template/.libs/example.so"
secret=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../../tests/integration/lib.sh"
lib_init check-kit
secrets=$secret
[ -x "$kit" ] || abort "$kit not built"

# expect STATUS PATTERN... -- ARGS: the kit exits with STATUS, its output
# is clean and holds every PATTERN (grep -E, one line each). The kit's own
# report is shown indented: its summary is not this script's.
expect() {
    want=$1
    shift
    pats=
    while [ "$1" != -- ]; do
        pats="$pats
$1"
        shift
    done
    shift
    # The label names the key only as <secret>.
    label=$(printf 'msgsec-provider-check%s' "${*:+ $*}" |
        sed "s/$secret/<secret>/g")
    run_as "$label" "$want" "" "$kit" "$@"
    sed 's/^/  | /' "$out" "$err"
    while IFS= read -r p; do
        [ -z "$p" ] && continue
        if grep -Eq -- "$p" "$out" "$err"; then
            ok "a line matches /$p/"
        else
            bad "no line matches /$p/"
        fi
    done <<EOF
$pats
EOF
    echo
}

expect 0 '^PASS  descriptor loads: testpsk' \
    '^PASS  handshake \(explicit negotiation\)' \
    '^PASS  messages both ways \(explicit\)' \
    '^PASS  key export \(explicit\)' \
    '^PASS  tampered record refused \(explicit\)' \
    '^PASS  replayed record refused \(explicit\)' \
    '^PASS  orderly close \(explicit\)' \
    '^[1-9][0-9]* passed, 0 failed$' \
    -- --config "secret=$secret" "$mods/testpsk.so"

# Authorization (provider ABI 1.2): testpsk answers from authz_map; the
# kit's client is "check-client".
expect 0 '^PASS  authorization refuses an unknown UE service ID: MSGSEC_ERR_NOT_AUTHORIZED' \
    '^PASS  authorization of the client.s UE service ID' \
    '^PASS  authorization check freed at once: answered at once' \
    -- --config "secret=$secret" --config "authz_map=check-client=ue1|ue2" \
    --authorize ue2 "$mods/testpsk.so"
expect 0 '^PASS  authorization check freed at once: while pending' \
    -- --config "secret=$secret" --config "authz_map=check-client=ue1" \
    --config authz_delay_ms=20 --authorize ue1 "$mods/testpsk.so"
expect 1 '^FAIL  authorization of the client.s UE service ID$' \
    'MSGSEC_ERR_NOT_AUTHORIZED: .*is not authorized for UE service ID "ue1"' \
    -- --config "secret=$secret" --authorize ue1 "$mods/testpsk.so"
expect 0 '^PASS  authorization refuses an unknown UE service ID: MSGSEC_ERR_LOOKUP_FAILED' \
    -- --config "secret=$secret" --config authz_down=yes "$mods/testpsk.so"
# Built against ABI 1.0: no authorize, nothing to check.
expect 0 '^SKIP  authorization' \
    -- --config "secret=$secret" "$mods/testpsk0.so"

expect 0 '^PASS  descriptor loads: example' \
    '^PASS  messages both ways \(explicit\)' \
    '^SKIP  tampered record' \
    '^[1-9][0-9]* passed, 0 failed$' \
    -- --config max_record=1000 "$template"

# A wrong secret length is the provider's init refusing its configuration.
expect 1 '^FAIL  configuration, init and self_test' '^1 passed, 1 failed$' \
    -- --config secret=0011 "$mods/testpsk.so"
expect 1 '^FAIL  configuration, init and self_test' 'MSGSEC_ERR_PROVIDER_INIT' \
    -- "$mods/failinit.so"
expect 1 '^FAIL  configuration, init and self_test' 'known-answer' \
    -- "$mods/failselftest.so"
expect 1 '^FAIL  descriptor loads' 'MSGSEC_ERR_PROVIDER_BAD_MAGIC' \
    '^0 passed, 1 failed$' -- "$mods/badmagic.so"
expect 1 '^FAIL  descriptor loads' 'MSGSEC_ERR_PROVIDER_ABI' \
    -- "$mods/badabi.so"
expect 1 '^FAIL  configuration' 'colour: not a key of provider example' \
    -- --config colour=red "$template"
expect 2 'usage' --
expect 2 'expected key=value' -- --config novalue "$template"
finish
