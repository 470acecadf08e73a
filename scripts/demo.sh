#!/usr/bin/env bash
# The msgsec demonstration, run by `make demo` (scripts/bootstrap.sh demo):
# an operator validating the shipped policy, listing providers and asking
# which one a client gets; a tampered policy refused with FILE:LINE; and a
# client and a server authenticating and exchanging protected messages
# in one process through the real loader, with a provider that derives
# keys (tests/providers/testpsk) and the conformance kit.
# Exits 0 only when every expectation held.
set -uo pipefail
src=${1:?source dir}
build=${2:?build dir}
msgsec="$build/tools/msgsec"
kit="$build/sdk/check/msgsec-provider-check"
work=$(mktemp -d "${TMPDIR:-/tmp}/msgsec-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
ok=0
bad=0

expect() {  # expect DESCRIPTION WANTED-STATUS COMMAND...
    local what=$1 want=$2; shift 2
    echo
    echo "### $what"
    echo "\$ ${*/$secret/<secret>}"
    "$@" 2>&1 | sed "s/$secret/<secret>/g"
    local rc=${PIPESTATUS[0]}
    if [ "$rc" -eq "$want" ]; then
        echo "--> as expected (exit $rc)"; ok=$((ok + 1))
    else
        echo "--> UNEXPECTED: exit $rc, wanted $want"; bad=$((bad + 1))
    fi
}

cat >"$work/lab.conf" <<CONF
; A laboratory policy: two providers that derive real keys, and null.
[core]
provider_dir = $build/tests/providers
allow_insecure = no

[provider.testpsk]
support = mandatory
secret = $secret

[provider.testpsk2]
support = optional
secret = $secret

[service.lab]
use = testpsk, testpsk2, null
negotiation = explicit
require = mutual-auth, confidentiality
CONF
chmod 600 "$work/lab.conf"
sed 's/^use = .*/use = testpsk, testpsk3/' "$work/lab.conf" >"$work/broken.conf"
chmod 600 "$work/broken.conf"

expect "The shipped policy (AKMA mandatory; SEAL TLS-PSK mandatory with a SEAL client) is valid" 0 \
    "$msgsec" check -c "$src/etc/msgsec.conf"
expect "A policy naming an undeclared provider is refused with FILE:LINE" 1 \
    "$msgsec" check -c "$work/broken.conf"
expect "The operator lists the providers of the lab policy" 0 \
    "$msgsec" providers -c "$work/lab.conf"
expect "A client offering testpsk2 then null gets testpsk2 (null is insecure here)" 0 \
    "$msgsec" explain -c "$work/lab.conf" --service lab --offer testpsk2,null
expect "A client offering only null gets nothing" 3 \
    "$msgsec" explain -c "$work/lab.conf" --service lab --offer null
expect "Client and server authenticate and exchange protected messages (conformance kit)" 0 \
    "$kit" --config "secret=$secret" "$build/tests/providers/.libs/testpsk.so"

echo
echo "demo: $ok passed, $bad failed"
[ "$bad" -eq 0 ]
