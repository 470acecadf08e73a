#!/usr/bin/env bash
# The msgsec demonstration, run by `make demo` (scripts/bootstrap.sh demo):
# an operator validating the shipped policy, listing providers and asking
# which one a client gets; a tampered policy refused with FILE:LINE; a
# client and a server authenticating in one process through the real loader
# (tests/providers/testpsk and the conformance kit); then AKMA across
# processes: an emulated AAnF, the AUSF registering a UE, an MSGin5G server
# acting as the AKMA AF, a UE authenticating, an impostor and an unknown UE
# refused, and no key material in any log.
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

# ------------------------------------------------------------- AKMA
# An AAnF (emulated), the AUSF registering UEs, an MSGin5G server acting as
# the AKMA AF, and UEs authenticating with TLS keyed by K_AF.
kausf=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
supi=imsi-001010000000001
other_kausf=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$work"; }
trap stop_all EXIT INT TERM

wait_port() {  # wait_port FILE: the port a tool printed as "listening on HOST:PORT"
    local i
    for i in $(seq 1 100); do
        local p
        p=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1" | head -1)
        [ -n "$p" ] && { echo "$p"; return 0; }
        sleep 0.1
    done
    return 1
}

"$build/tools/msgsec-aanf" --listen 127.0.0.1:0 --expiry 3600 >"$work/aanf.log" 2>&1 &
pids+=($!)
aport=$(wait_port "$work/aanf.log") || { echo "msgsec-aanf did not start"; cat "$work/aanf.log"; exit 1; }

cat >"$work/af.conf" <<CONF
; The MSGin5G Server: the AKMA AF.
[core]
provider_dir = $build/plugins/akma
[provider.akma]
support  = mandatory
af_fqdn  = msgin5g.example.com
aanf_uri = http://127.0.0.1:$aport
[service.msgin5g-1]
use         = akma
negotiation = implicit
require     = mutual-auth, confidentiality
CONF
ue_policy() {  # ue_policy FILE KAUSF SUPI
    cat >"$1" <<CONF
; A UE: K_AUSF from primary authentication, its SUPI and home network.
[core]
provider_dir = $build/plugins/akma
[provider.akma]
support = mandatory
kausf   = $2
supi    = $3
rid     = 0
mcc     = 001
mnc     = 01
af_fqdn = msgin5g.example.com
[service.msgin5g-1]
use         = akma
negotiation = implicit
CONF
    chmod 600 "$1"
}
chmod 600 "$work/af.conf"
ue_policy "$work/ue1.conf" "$kausf" "$supi"
# The impostor presents UE 1's A-KID but holds a K_AKMA of its own.
akid1=$("$msgsec" akma derive --kausf "$kausf" --supi "$supi" --rid 0 --mcc 001 --mnc 01 |
        sed -n 's/^A-KID=//p')
cat >"$work/impostor.conf" <<CONF
; Someone replaying UE 1's A-KID without UE 1's keys.
[core]
provider_dir = $build/plugins/akma
[provider.akma]
support = mandatory
kakma   = $other_kausf
akid    = $akid1
af_fqdn = msgin5g.example.com
[service.msgin5g-1]
use         = akma
negotiation = implicit
CONF
chmod 600 "$work/impostor.conf"
ue_policy "$work/stranger.conf" "$other_kausf" imsi-001010000000099

expect "The AUSF registers UE 1's K_AKMA and A-KID with the AAnF" 0 \
    "$msgsec" akma register --aanf "http://127.0.0.1:$aport" --kausf "$kausf" \
    --supi "$supi" --rid 0 --mcc 001 --mnc 01

"$msgsec" serve -c "$work/af.conf" --service msgin5g-1 --listen 127.0.0.1:0 \
    >"$work/serve.log" 2>&1 &
pids+=($!)
sport=$(wait_port "$work/serve.log") || { echo "msgsec serve did not start"; cat "$work/serve.log"; exit 1; }

connect() { printf 'hello from a UE\n' | "$msgsec" connect -c "$1" --service msgin5g-1 --connect "127.0.0.1:$sport" --timeout 5000; }
expect "UE 1 authenticates with AKMA; the AF fetched K_AF from the AAnF" 0 connect "$work/ue1.conf"
expect "UE 1 again: K_AF comes from the AF's cache" 0 connect "$work/ue1.conf"
expect "An impostor presenting UE 1's A-KID without its key is refused" 3 connect "$work/impostor.conf"
expect "A UE the AAnF does not know is told to re-run primary authentication" 3 connect "$work/stranger.conf"
echo
echo "### What the server and the AAnF saw (no key material in either)"
sed 's/^/  serve: /' "$work/serve.log"
sed 's/^/  aanf:  /' "$work/aanf.log"
retrieves=$(grep -c 'retrieve-applicationkey' "$work/aanf.log" || true)
echo "AAnF key requests: $retrieves (UE 1 twice and the impostor share one cached K_AF; the stranger needs its own)"
if [ "$retrieves" -eq 2 ]; then ok=$((ok + 1)); else echo "--> UNEXPECTED: $retrieves key requests, wanted 2"; bad=$((bad + 1)); fi
if grep -qi -e "$kausf" -e "$other_kausf" "$work/serve.log" "$work/aanf.log"; then
    echo "--> UNEXPECTED: key material in a log"; bad=$((bad + 1))
else
    ok=$((ok + 1))
fi

echo
echo "demo: $ok passed, $bad failed"
[ "$bad" -eq 0 ]
