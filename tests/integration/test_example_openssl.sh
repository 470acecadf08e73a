#!/bin/sh
# test_example_openssl.sh - examples/openssl-psk-server, an OpenSSL TLS 1.3
# server asking msgsec only for PSKs (msgsec_psk_lookup_*), as an AKMA AF:
# msgsec-aanf with DOMAIN.md's UE registered by `msgsec akma register`,
# and openssl s_client as the UE with K_AF as its PSK. The first handshake
# waits for the AAnF (the ClientHello callback retries until the look-up
# completes), the next one comes from the cache; a wrong K_AF, an unknown
# A-KID, a non-AKMA identity and a client without PSK each fail while the
# server goes on; no key material in any output.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR.

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"

MSGSEC=$MSGSEC_TEST_BUILDDIR/tools/msgsec
AANF=$MSGSEC_TEST_BUILDDIR/tools/msgsec-aanf
SERVER=$MSGSEC_TEST_BUILDDIR/examples/openssl-psk-server
PROVIDER_DIR=$MSGSEC_TEST_BUILDDIR/plugins/akma

KAUSF=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SUPI=imsi-001010000000001
AKID=0.67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b@5gc.mnc001.mcc001.3gppnetwork.org
UNKNOWN_AKID=0.00000000000000000000000000000000000000000000000000000000000000ff@5gc.mnc001.mcc001.3gppnetwork.org
K_AF=23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb
WRONG_K_AF=f0e0d0c0b0a09080706050403020100f0e0d0c0b0a09080706050403020100ff

if [ ! -x "$MSGSEC" ] || [ ! -x "$AANF" ] || [ ! -x "$SERVER" ] ||
    [ ! -f "$PROVIDER_DIR/akma.la" ] || ! command -v openssl >/dev/null 2>&1; then
    echo "FAIL: msgsec, msgsec-aanf, openssl-psk-server, the akma module or openssl(1) missing"
    echo "0 passed, 1 failed"
    exit 1
fi

umask 077
tmp=$(mktemp -d "${TMPDIR:-/tmp}/msgsec-example-openssl.XXXXXX") || exit 1
# Every process started is killed by its PID, whatever happens.
pids=
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

passed=0
failed=0
last=

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

bad() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    echo "  command: $last"
    for f in "$tmp"/*.out "$tmp"/*.err; do
        [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f"
    done
}

has() {
    if grep -q -F -e "$2" "$1"; then
        ok "$(basename "$1") has: $2"
    else
        bad "$(basename "$1") lacks: $2"
    fi
}

lacks() {
    if grep -q -F -e "$2" "$1"; then
        bad "$(basename "$1") should not have: $2"
    else
        ok "$(basename "$1") has no: $2"
    fi
}

# forget PID: a process waited for leaves the cleanup list (its PID may be
# reused).
forget() {
    rest=
    for p in $pids; do
        [ "$p" = "$1" ] || rest="$rest $p"
    done
    pids=$rest
}

# wait_for FILE TEXT: waits (up to 10 s) until FILE has TEXT.
wait_for() {
    i=0
    while [ $i -lt 200 ]; do
        grep -q -F -e "$2" "$1" 2>/dev/null && break
        sleep 0.05
        i=$((i + 1))
    done
    has "$1" "$2"
}

# port_of FILE: the port of the "listening on 127.0.0.1:PORT" line
# (waits up to 10 s).
port_of() {
    i=0
    while [ $i -lt 200 ]; do
        p=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$1")
        [ -n "$p" ] && break
        sleep 0.05
        i=$((i + 1))
    done
    printf '%s' "$p"
}

# client NAME KEY IDENTITY LINE: openssl s_client sends LINE and stays
# until the answer came or 10 s passed; output in $tmp/NAME.out.
client() {
    last="openssl s_client -tls1_3 -psk <key> -psk_identity $3"
    mkfifo "$tmp/$1.fifo"
    openssl s_client -tls1_3 -psk "$2" -psk_identity "$3" \
        -connect "127.0.0.1:$sport" -quiet -no_ign_eof \
        <"$tmp/$1.fifo" >"$tmp/$1.out" 2>"$tmp/$1.err" &
    cpid=$!
    pids="$pids $cpid"
    exec 5>"$tmp/$1.fifo"
    (
        trap '' PIPE
        printf '%s\n' "$4" >&5
    ) 2>/dev/null
    i=0
    while [ $i -lt 200 ] && kill -0 "$cpid" 2>/dev/null &&
        ! grep -q -F -e ": $4" "$tmp/$1.out"; do
        sleep 0.05
        i=$((i + 1))
    done
    exec 5>&-
    wait "$cpid"
    crc=$?
    forget "$cpid"
}

# ---------------------------------------------------------- the AAnF

"$AANF" --listen 127.0.0.1:0 >"$tmp/aanf.out" 2>"$tmp/aanf.err" &
pids="$pids $!"
aport=$(port_of "$tmp/aanf.out")
last="msgsec akma register --aanf http://127.0.0.1:$aport ..."
akid=$("$MSGSEC" akma register --aanf "http://127.0.0.1:$aport" \
    --kausf "$KAUSF" --supi "$SUPI" --rid 0 --mcc 001 --mnc 01 \
    2>"$tmp/register.err")
if [ "$akid" = "$AKID" ]; then ok "UE registered: $akid"; else bad "register printed '$akid'"; fi

cat >"$tmp/policy.conf" <<CONF
[core]
provider_dir = $PROVIDER_DIR

[provider.akma]
support  = mandatory
af_fqdn  = msgin5g.example.com
aanf_uri = http://127.0.0.1:$aport

[service.msgin5g]
use = akma
CONF

# -------------------------------------------------------- the server

last="openssl-psk-server -c policy.conf --service msgin5g --listen 127.0.0.1:0"
"$SERVER" -c "$tmp/policy.conf" --service msgin5g --listen 127.0.0.1:0 \
    >"$tmp/server.out" 2>"$tmp/server.err" &
spid=$!
pids="$pids $spid"
sport=$(port_of "$tmp/server.out")
if [ -n "$sport" ]; then ok "server listens on $sport"; else bad "server did not start"; exit 1; fi

# K_AF from the AAnF: the handshake waits for the look-up.
client first "$K_AF" "3GPP-AKMA$AKID" "hello"
has "$tmp/first.out" "akma $AKID: hello"
wait_for "$tmp/server.err" "scheme=akma identity=$AKID supi=$SUPI expiry="
# From the cache: no second request.
client second "$K_AF" "3GPP-AKMA$AKID" "again"
has "$tmp/second.out" "akma $AKID: again"
n=$(grep -c "retrieve-applicationkey -> 200" "$tmp/aanf.err")
if [ "$n" -eq 1 ]; then ok "one AAnF retrieve for two handshakes"; else bad "$n AAnF retrieves"; fi

# A wrong K_AF: OpenSSL's binder check fails.
client wrong "$WRONG_K_AF" "3GPP-AKMA$AKID" "wrong"
if [ "$crc" -ne 0 ]; then ok "s_client with a wrong K_AF fails"; else bad "s_client with a wrong K_AF succeeded"; fi
lacks "$tmp/wrong.out" "akma "
wait_for "$tmp/server.err" "binder does not verify"

# An A-KID the AAnF does not know: unknown_psk_identity.
client unknown "$K_AF" "3GPP-AKMA$UNKNOWN_AKID" "unknown"
if [ "$crc" -ne 0 ]; then ok "s_client with an unknown A-KID fails"; else bad "s_client with an unknown A-KID succeeded"; fi
has "$tmp/unknown.err" "unknown psk identity"
wait_for "$tmp/server.err" "MSGSEC_ERR_KEY_UNAVAILABLE: provider akma: A-KID $UNKNOWN_AKID"

# An identity no provider claims.
client other "$K_AF" "someone-else" "other"
if [ "$crc" -ne 0 ]; then ok "s_client with a foreign identity fails"; else bad "s_client with a foreign identity succeeded"; fi
wait_for "$tmp/server.err" "MSGSEC_ERR_UNCLAIMED"

# A client without PSK.
last="openssl s_client -tls1_3 (no PSK)"
if printf 'x\n' | openssl s_client -tls1_3 -connect "127.0.0.1:$sport" \
    -quiet >"$tmp/nopsk.out" 2>"$tmp/nopsk.err"; then
    bad "s_client without PSK succeeded"
else
    ok "s_client without PSK fails"
fi
wait_for "$tmp/server.err" "the client offered no PSK"

# The server goes on.
client last "$K_AF" "3GPP-AKMA$AKID" "still there"
has "$tmp/last.out" "akma $AKID: still there"

# No key material anywhere.
for k in "$K_AF" "$WRONG_K_AF" "$KAUSF"; do
    if grep -q -i -F -e "$k" "$tmp"/*.out "$tmp"/*.err; then
        bad "key material in an output"
    else
        ok "no key material ${k%"${k#????????}"}... in the outputs"
    fi
done
if grep -q -e "Sanitizer" -e "runtime error:" "$tmp"/*.err; then
    bad "sanitizer report"
fi

last="kill -TERM openssl-psk-server"
kill -TERM "$spid"
wait "$spid"
rc=$?
forget "$spid"
if [ "$rc" -eq 0 ]; then ok "server exits 0 on SIGTERM"; else bad "server exit $rc on SIGTERM"; fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
