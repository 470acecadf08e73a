#!/bin/sh
# test_seal_e2e.sh - SEAL TLS-PSK end to end on loopback, with real
# processes: the key-management emulator msgsec-seal-km, the server
# `msgsec serve` and the UE `msgsec connect` with the seal-tlspsk provider
# (keys from key management with a configured token and with a token of
# the client-credentials grant), TLS 1.3 and TLS 1.2; openssl s_client and
# gnutls-cli against msgsec serve in both versions; one server accepting
# AKMA (through msgsec-aanf) and SEAL clients on one port, with `msgsec
# explain` agreeing; each key-management failure (down, slow, token
# rejected, no key record, malformed keyInfo, expired key, unknown
# identity) failing cleanly while good clients go on; the derive and
# psk_file key sources; and no key or token in any output.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build tree:
# tools/msgsec, tools/msgsec-seal-km, tools/msgsec-aanf, the seal-tlspsk
# and akma modules), MSGSEC_TEST_DATA (tests/data; the AKMA UE policy is
# its akma/ue.conf). Needs openssl(1) and gnutls-cli(1): without them the
# interoperability checks fail, they are not skipped.

# Conditions of check are single-quoted and evaluated there.
# shellcheck disable=SC2016,SC2034

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
: "${MSGSEC_TEST_DATA:?set by make check}"

MSGSEC=$MSGSEC_TEST_BUILDDIR/tools/msgsec
KM=$MSGSEC_TEST_BUILDDIR/tools/msgsec-seal-km
AANF=$MSGSEC_TEST_BUILDDIR/tools/msgsec-aanf
SEAL_DIR=$MSGSEC_TEST_BUILDDIR/plugins/seal-tlspsk
AKMA_DIR=$MSGSEC_TEST_BUILDDIR/plugins/akma
SVC=msgin5g
FQDN=msgin5g.example.com
# The server's limit for one key-management request; the slow emulator
# answers well beyond it.
KM_TIMEOUT_MS=2000
SLOW_MS=5000

# Tokens and keys: none may appear in any output.
SRV_TOKEN=srv-token.c2VydmVyIHRva2Vu
UE_TOKEN=ue-token.dWUgdG9rZW4
UE_CLIENT=msgin5g-ue
UE_SECRET=ue-client-secret-7f3a9c
PSK_ALICE=7a1c0e5d9b3f48a2c6e01d7b5f9a3c8e2b4d6f8091a3c5e7f9b1d3e5a7c9e1f3
PSK_BOB=0b1c2d3e4f5061728394a5b6c7d8e9f00112233445566778899aabbccddeeff0
PSK_CAROL=c0ffee00c0ffee01c0ffee02c0ffee03c0ffee04c0ffee05c0ffee06c0ffee07
PSK_DAN=d4a11e0ed4a11e1ed4a11e2ed4a11e3ed4a11e4ed4a11e5ed4a11e6ed4a11e7e
PSK_ERIN=e121e121e121e121e121e121e121e121e121e121e121e121e121e121e1210001
PSK_FAY=fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa7fa70
PSK_GUS=9a59a59a59a59a59a59a59a59a59a59a59a59a59a59a59a59a59a59a59a59a50
PSK_WRONG=00000000000000000000000000000000000000000000000000000000000000ff
PSK_FILE_KEY=f11ef11ef11ef11ef11ef11ef11ef11ef11ef11ef11ef11ef11ef11ef11e0042
K_MSG=4b5f4d5347206f6620746865206d7367696e3567207365727669636520303031
KAUSF=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SUPI=imsi-001010000000001

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init seal-e2e
secrets="$SRV_TOKEN $UE_TOKEN $UE_SECRET $PSK_ALICE $PSK_BOB $PSK_CAROL
$PSK_DAN $PSK_ERIN $PSK_FAY $PSK_GUS $PSK_WRONG $PSK_FILE_KEY $K_MSG $KAUSF"

if [ ! -x "$MSGSEC" ] || [ ! -x "$KM" ] || [ ! -x "$AANF" ] ||
    [ ! -f "$SEAL_DIR/seal-tlspsk.la" ] || [ ! -f "$AKMA_DIR/akma.la" ]; then
    abort "msgsec, msgsec-seal-km, msgsec-aanf, the seal-tlspsk or the akma module not built"
fi

tls_clients

# ------------------------------------------------------------- helpers

# km_start NAME PORT RECORDS [OPTION...]: msgsec-seal-km on 127.0.0.1:PORT
# (0: any) with the records file RECORDS; PID in $bgpid, port in $port,
# its one-line-per-request log in $tmp/km-NAME.err. Returns 1 when it did
# not start.
km_start() {
    kn=$1
    kp=$2
    kr=$3
    shift 3
    listener "km-$kn" "key management $kn" "$KM" --listen "127.0.0.1:$kp" \
        --records "$kr" "$@"
}

# policy NAME KEYS [USE [PROVIDER-DIR [CORE-KEYS [SECTIONS]]]]: writes
# $tmp/NAME.conf (mode 0600): the seal-tlspsk provider with KEYS (lines;
# loaded by path when PROVIDER-DIR is another directory), SECTIONS, and
# service msgin5g using USE (default seal-tlspsk) with implicit
# negotiation and stream framing, as standard TLS clients expect.
policy() {
    {
        printf '[core]\nprovider_dir = %s\n%s\n' "${4:-$SEAL_DIR}" "${5:-}"
        printf '[provider.seal-tlspsk]\n%s\n' "$2"
        [ -n "${4:-}" ] &&
            printf 'module = %s/seal-tlspsk\n' "$SEAL_DIR"
        printf '%s\n' "${6:-}"
        printf '[service.%s]\nuse = %s\nnegotiation = implicit\nframing = stream\n' \
            "$SVC" "${3:-seal-tlspsk}"
    } >"$tmp/$1.conf"
    chmod 600 "$tmp/$1.conf"
}

# ------------------------------------------------------ key management

records=$tmp/km.records
cat >"$records" <<EOF
# The server's and the UEs' static tokens; the UEs' token endpoint client.
token $SRV_TOKEN
token $UE_TOKEN
client $UE_CLIENT $UE_SECRET
key $SVC alice 3GPP-SEAL:alice#1 $PSK_ALICE 86400
key $SVC bob 3GPP-SEAL:bob#2 $PSK_BOB 86400
key $SVC carol 3GPP-SEAL:carol#1 $PSK_CAROL -60
key $SVC dan 3GPP-SEAL:dan#1 $PSK_DAN 86400
key $SVC erin 3GPP-SEAL:erin#1 $PSK_ERIN 86400
key $SVC fay 3GPP-SEAL:fay#1 $PSK_FAY 86400
key $SVC gus 3GPP-SEAL:gus#1 $PSK_GUS 86400
EOF
chmod 600 "$records"
# The same without the server's token: key management rejects it.
notoken=$tmp/km-notoken.records
grep -v "^token $SRV_TOKEN\$" "$records" >"$notoken"
chmod 600 "$notoken"

# The UEs' key management; the server has one of its own (same records),
# which the failure tests stop, slow down and break.
km_start ue 0 "$records" || finish
KU=$port
kupid=$bgpid
kulog=$tmp/km-ue.err
km_start srv 0 "$records" || finish
KS=$port
kspid=$bgpid

# UE policies: alice with a configured token; bob through the token
# endpoint; the others for the failures.
ue() { # ue NAME USER [MORE-KEYS]: a UE of key management $KU
    policy "$1" "support = mandatory
km_uri = http://127.0.0.1:$KU
km_token = $UE_TOKEN
val_user_id = $2
${3:-}"
}
ue_grant() { # ue_grant NAME SECRET [MORE-KEYS]: bob, token by the grant
    policy "$1" "support = mandatory
km_uri = http://127.0.0.1:$KU
token_uri = http://127.0.0.1:$KU/oauth2/token
client_id = $UE_CLIENT
client_secret = $2
val_user_id = bob
${3:-}"
}
ue alice alice
ue_grant bob "$UE_SECRET"
for u in carol dan erin fay gus mallory; do
    ue "$u" "$u"
done
ue alice12 alice "tls12 = only"
ue_grant bob12 "$UE_SECRET" "tls12 = only"
ue_grant badsecret not-the-secret
secrets="$secrets not-the-secret"

# Server policies: key management at KM-PORT with the server's token.
srv() { # srv NAME KM-PORT [MORE-KEYS]
    policy "$1" "support = mandatory
km_uri = http://127.0.0.1:$2
km_token = $SRV_TOKEN
${3:-}"
}

# ----------------------------------------------- TLS 1.3: msgsec connect

srv srv13 "$KS" "km_timeout_ms = $KM_TIMEOUT_MS"
serve_start srv13 "$tmp/srv13.conf" "$SVC" -v
sp=$spid
S=$sport
sout=$tmp/srv13.out

served "seal-tlspsk alice" "hello\nsecond line" "$S" "$tmp/alice.conf"
established "$sout" "scheme=seal-tlspsk identity=alice" "the VAL user alice"
has "$kulog" "/ss-kir/v1/key-records"
has "$tmp/km-srv.err" "/ss-kir/v1/key-records"

# bob's token comes from the token endpoint (client credentials).
served "seal-tlspsk bob" "from bob" "$S" "$tmp/bob.conf"
established "$sout" "scheme=seal-tlspsk identity=bob" "the VAL user bob"
has "$kulog" "/oauth2/token -> 200"

# The server's cache: alice again makes no second request to its key
# management.
n0=$(grep -c '/ss-kir/v1/key-records' "$tmp/km-srv.err")
served "seal-tlspsk alice" again "$S" "$tmp/alice.conf"
check "no second key-management request of the server for alice" \
    '[ "$(grep -c "/ss-kir/v1/key-records" "$tmp/km-srv.err")" -eq "$n0" ]'

# ---------------------------------- standard TLS clients, TLS 1.3 and 1.2

if [ "$have_openssl" = yes ]; then
    tls_ok s_client13 "seal-tlspsk alice" psk_s_client "$S" "3GPP-SEAL:alice#1" \
        "$PSK_ALICE" -tls1_3
    n0=$(failed_lines "$sout")
    tls_fails "openssl s_client -tls1_3 -psk <a wrong key> -psk_identity 3GPP-SEAL:alice#1" \
        "seal-tlspsk " psk_s_client "$S" "3GPP-SEAL:alice#1" \
        "$PSK_WRONG" -tls1_3
    server_failed "$sout" "$n0" "MSGSEC_ERR_AUTH_FAILED: provider seal-tlspsk"
    # TLS 1.2 is off by default.
    n0=$(failed_lines "$sout")
    tls_fails "openssl s_client -tls1_2 (tls12 = no)" \
        "seal-tlspsk " psk_s_client "$S" "3GPP-SEAL:alice#1" \
        "$PSK_ALICE" -tls1_2
    server_failed "$sout" "$n0"
fi
if [ "$have_gnutls" = yes ]; then
    tls_ok gnutls13 "seal-tlspsk bob" psk_gnutls "$S" "3GPP-SEAL:bob#2" \
        "$PSK_BOB" 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK'
    has "$tmp/gnutls13.out" "- PSK authentication. Connected as '3GPP-SEAL:bob#2'"
fi

# TLS 1.2 with the default suite ECDHE-PSK-CHACHA20-POLY1305.
srv srv12 "$KU" "tls12 = yes"
serve_start srv12 "$tmp/srv12.conf" "$SVC" -v
s12=$spid
S12=$sport
served "seal-tlspsk alice" "over TLS 1.2" "$S12" "$tmp/alice12.conf"
established "$tmp/srv12.out" "scheme=seal-tlspsk identity=alice" \
    "alice over TLS 1.2"
served "seal-tlspsk bob" "token from the endpoint" "$S12" "$tmp/bob12.conf"
served "seal-tlspsk alice" "TLS 1.3 too" "$S12" "$tmp/alice.conf"
if [ "$have_openssl" = yes ]; then
    tls_ok s_client12 "seal-tlspsk alice" psk_s_client "$S12" "3GPP-SEAL:alice#1" \
        "$PSK_ALICE" -tls1_2 -cipher ECDHE-PSK-CHACHA20-POLY1305
    tls_ok s_client12b "seal-tlspsk bob" psk_s_client "$S12" "3GPP-SEAL:bob#2" \
        "$PSK_BOB" -tls1_2 -cipher ECDHE-PSK-CHACHA20-POLY1305
fi
stop "$s12" "server srv12"

# gnutls-cli 3.7 fails on TLS 1.2 ECDHE-PSK: plain PSK for it, which the
# server must allow (allow_psk_ke) with a plain PSK suite.
srv srv12p "$KU" "tls12 = yes
tls12_cipher = PSK-AES128-GCM-SHA256
allow_psk_ke = yes"
serve_start srv12p "$tmp/srv12p.conf" "$SVC" -v
s12p=$spid
if [ "$have_gnutls" = yes ]; then
    tls_ok gnutls12 "seal-tlspsk alice" psk_gnutls "$sport" \
        "3GPP-SEAL:alice#1" "$PSK_ALICE" 'NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK'
    has "$tmp/gnutls12.out" "- Description: (TLS1.2"
fi
if [ "$have_openssl" = yes ]; then
    tls_ok s_client12p "seal-tlspsk bob" psk_s_client "$sport" "3GPP-SEAL:bob#2" \
        "$PSK_BOB" -tls1_2 -cipher PSK-AES128-GCM-SHA256
fi
stop "$s12p" "server srv12p"
clean "$tmp/srv12.out" "$tmp/srv12.err" "$tmp/srv12p.out" "$tmp/srv12p.err"

# ------------------------------------- AKMA and SEAL side by side, one port

aanf_start aanf 0
A=$aport
register "$SUPI" "$KAUSF"
subst "$MSGSEC_TEST_DATA/akma/ue.conf" "$tmp/akma-ue.conf" \
    PROVIDER_DIR="$AKMA_DIR" KAUSF="$KAUSF" SUPI="$SUPI"
# The server: akma from provider_dir, seal-tlspsk by path; SEAL TLS-PSK
# mandatory where the UE has a SEAL client, which km_uri makes so.
policy both "support = mandatory-if-seal-client
km_uri = http://127.0.0.1:$KU
km_token = $SRV_TOKEN" "akma, seal-tlspsk" "$AKMA_DIR" "" "[provider.akma]
support = mandatory
af_fqdn = $FQDN
aanf_uri = http://127.0.0.1:$A"
serve_start both "$tmp/both.conf" "$SVC" -v
sb=$spid
SB=$sport
bout=$tmp/both.out
served "akma $akid" "from akma" "$SB" "$tmp/akma-ue.conf"
served "seal-tlspsk alice" "from seal" "$SB" "$tmp/alice.conf"
served "akma $akid" "akma again" "$SB" "$tmp/akma-ue.conf"
wait_for "$bout" "scheme=akma identity=$akid supi=$SUPI expiry="
wait_for "$bout" "scheme=seal-tlspsk identity=alice expiry="
check "two AKMA and one SEAL session, each claimed by its provider" \
    '[ "$(grep -c "^established .* scheme=akma identity=$akid " "$bout")" -eq 2 ] &&
    [ "$(grep -c "^established .* scheme=seal-tlspsk identity=alice " "$bout")" -eq 1 ]'
if [ "$have_openssl" = yes ]; then
    tls_ok s_client-both "seal-tlspsk bob" psk_s_client "$SB" "3GPP-SEAL:bob#2" \
        "$PSK_BOB" -tls1_3
fi
lacks "$bout" "failed"

# explain agrees: both providers are candidates in claim order, and the
# SEAL-client decision with the key that made it.
run_as "msgsec explain -c both.conf --service $SVC" 0 "" \
    "$MSGSEC" explain -c "$tmp/both.conf" --service "$SVC"
check "explain: akma asked first, seal-tlspsk next" \
    'grep -q -E "^  akma +SELECTED " "$out" &&
    grep -q -E "^  seal-tlspsk +next " "$out"'
check "explain shows the seal-client decision and the key that made it" \
    'grep "^seal client: yes " "$out" |
    grep -q -E "\[provider\.seal-tlspsk\] sets km_uri at [^ ]*both\.conf:[0-9]+"'
run_as "msgsec providers -c both.conf" 0 "" \
    "$MSGSEC" providers -c "$tmp/both.conf"
has "$out" "mandatory-if-seal-client (seal_client = yes: mandatory)"
stop "$sb" "server both"
stop "$apid" "AAnF"
clean "$bout" "$tmp/both.err" "$tmp/aanf.err"

# ------------------------------------------------------------- failures

# Each failure on the server (its key management down, slow, refusing
# its token, answering garbage; an expired key; an unknown identity) and
# on the UE (no key record; its credentials refused) is reported with its
# own error, and alice, whose key the server has cached, is served right
# after.
# What the server says of a UE that failed on its side and left.
LEFT="MSGSEC_ERR_PEER_REJECTED: the peer closed the connection during the handshake"
good() {
    served "seal-tlspsk alice" "still served" "$S" "$tmp/alice.conf"
}

# Key management down.
stop "$kspid" "key management srv"
n0=$(failed_lines "$sout")
conn 3 "x\n" "$S" "$tmp/dan.conf"
has "$err" "failed: MSGSEC_ERR_PEER_REJECTED"
empty_out
server_failed "$sout" "$n0" "MSGSEC_ERR_LOOKUP_FAILED: provider seal-tlspsk"
good

# Key management slower than km_timeout_ms. alice, connected meanwhile,
# is answered while the look-up is pending: it holds up no other session.
if km_start slow "$KS" "$records" --delay-ms "$SLOW_MS"; then
    kslow=$bgpid
    conn_open good-slow 6 "$S" "$tmp/alice.conf"
    gp=$bgpid
    feed 6 "first"
    wait_for "$tmp/good-slow.out" "seal-tlspsk alice: first"
    n0=$(failed_lines "$sout")
    conn_open slow-ue 7 "$S" "$tmp/erin.conf"
    bp=$bgpid
    feed 7 "x"
    feed 6 "while pending"
    wait_for "$tmp/good-slow.out" "seal-tlspsk alice: while pending"
    # The look-up cannot give up before KM_TIMEOUT_MS, far longer than a
    # line's round trip: a server held up by it would fail it first.
    lacks "$sout" "MSGSEC_ERR_TIMEOUT"
    fifo_close good-slow 6 "$gp"
    same "$tmp/good-slow.out" "seal-tlspsk alice: first\nseal-tlspsk alice: while pending\n"
    fifo_close slow-ue 7 "$bp" 3
    has "$tmp/slow-ue.err" "failed: MSGSEC_ERR_PEER_REJECTED"
    server_failed "$sout" "$n0" "MSGSEC_ERR_TIMEOUT: provider seal-tlspsk"
    good
    stop "$kslow" "key management slow"
fi

# The server's token rejected (401).
if km_start notoken "$KS" "$notoken"; then
    n0=$(failed_lines "$sout")
    conn 3 "x\n" "$S" "$tmp/fay.conf"
    has "$err" "failed: MSGSEC_ERR_PEER_REJECTED"
    empty_out
    server_failed "$sout" "$n0" "MSGSEC_ERR_TOKEN_REJECTED: provider seal-tlspsk"
    has "$tmp/km-notoken.err" " -> 401"
    good
    stop "$bgpid" "key management notoken"
fi

# A keyInfo that does not decode.
if km_start garbage "$KS" "$records" --garbage; then
    n0=$(failed_lines "$sout")
    conn 3 "x\n" "$S" "$tmp/gus.conf"
    has "$err" "failed: MSGSEC_ERR_PEER_REJECTED"
    empty_out
    server_failed "$sout" "$n0" "MSGSEC_ERR_BAD_FRAME: provider seal-tlspsk"
    good
    stop "$bgpid" "key management garbage"
fi

if km_start again "$KS" "$records"; then
    kapid=$bgpid
    # An expired key: the UE refuses to use it, and so does the server
    # when a standard client presents it.
    n0=$(failed_lines "$sout")
    conn 3 "x\n" "$S" "$tmp/carol.conf"
    has "$err" "failed: MSGSEC_ERR_KEY_EXPIRED: provider seal-tlspsk"
    empty_out
    server_failed "$sout" "$n0" "$LEFT"
    if [ "$have_openssl" = yes ]; then
        n0=$(failed_lines "$sout")
        tls_fails "openssl s_client -psk <carol's expired key> -psk_identity 3GPP-SEAL:carol#1" \
            "seal-tlspsk " psk_s_client "$S" "3GPP-SEAL:carol#1" \
            "$PSK_CAROL" -tls1_3
        server_failed "$sout" "$n0" "MSGSEC_ERR_KEY_EXPIRED: provider seal-tlspsk"
    fi
    good

    # An identity key management does not know: alert 115
    # (unknown_psk_identity) and KEY_UNAVAILABLE on the server.
    if [ "$have_openssl" = yes ]; then
        n0=$(failed_lines "$sout")
        tls_fails "openssl s_client -psk <key> -psk_identity 3GPP-SEAL:mallory#1" \
            "seal-tlspsk " psk_s_client "$S" "3GPP-SEAL:mallory#1" \
            "$PSK_ALICE" -tls1_3
        has "$err" "alert number 115"
        server_failed "$sout" "$n0" "MSGSEC_ERR_KEY_UNAVAILABLE: provider seal-tlspsk"
        good
    fi

    # The UE's key management has no key record for it (404).
    n0=$(failed_lines "$sout")
    conn 3 "x\n" "$S" "$tmp/mallory.conf"
    has "$err" "failed: MSGSEC_ERR_KEY_UNAVAILABLE: provider seal-tlspsk"
    server_failed "$sout" "$n0" "$LEFT"
    empty_out
    lacks "$sout" "identity=mallory"
    good

    # The UE's client credentials refused by the token endpoint.
    n0=$(failed_lines "$sout")
    conn 3 "x\n" "$S" "$tmp/badsecret.conf"
    has "$err" "failed: MSGSEC_ERR_TOKEN_REJECTED: provider seal-tlspsk"
    server_failed "$sout" "$n0" "$LEFT"
    empty_out
    has "$kulog" "/oauth2/token -> 401"
    good

    # Back to normal: the users whose look-ups failed get in now (failures
    # are not cached).
    served "seal-tlspsk dan" now "$S" "$tmp/dan.conf"
    stop "$kapid" "key management again"
fi
stop "$sp" "server srv13"
clean "$sout" "$tmp/srv13.err"

# ---------------------------------------------- derive and psk_file sources

# one_source NAME USER SERVER-KEYS UE-KEYS: a server and a UE (VAL user
# USER) whose keys come from a local source; the UE's line must come
# back. The server stays ($spid, $sport; output $tmp/NAME.out).
one_source() {
    policy "$1" "support = mandatory
$3"
    policy "$1-ue" "support = mandatory
$4"
    serve_start "$1" "$tmp/$1.conf" "$SVC" -v
    served "seal-tlspsk $2" "via $1" "$sport" "$tmp/$1-ue.conf"
    wait_for "$tmp/$1.out" "scheme=seal-tlspsk identity=$2"
}

# derive: both sides derive the PSK from K_MSG and the identity.
one_source derive dave "msg_key = $K_MSG" "msg_key = $K_MSG
val_user_id = dave
key_id = 3"
# A UE with another K_MSG: the keys differ.
policy dwrong "support = mandatory
msg_key = $PSK_WRONG
val_user_id = dave"
conn 3 "x\n" "$sport" "$tmp/dwrong.conf"
has "$err" "failed: MSGSEC_ERR_AUTH_FAILED: provider seal-tlspsk: TLS handshake failed"
empty_out
wait_for "$tmp/derive.out" "MSGSEC_ERR_AUTH_FAILED: provider seal-tlspsk: TLS handshake failed: binder does not verify"
stop "$spid" "server derive"

# psk_file: identity:hexkey lines, as gnutls-serv reads them.
pskf=$tmp/keys.psk
printf '# lab keys\n3GPP-SEAL:zoe#1:%s\n' "$PSK_FILE_KEY" >"$pskf"
chmod 600 "$pskf"
one_source pskfile zoe "psk_file = $pskf" "psk_file = $pskf
val_user_id = zoe
key_id = 1"
stop "$spid" "server pskfile"
# Readable by others: refused.
chmod 644 "$pskf"
run_as "msgsec serve -c pskfile.conf (psk_file mode 0644)" 3 "" \
    "$MSGSEC" serve -c "$tmp/pskfile.conf" --service "$SVC" \
    --listen 127.0.0.1:0
has "$err" "psk_file"
chmod 600 "$pskf"

stop "$kupid" "key management ue"

# ------------------------------------------------- no key anywhere

no_secrets 15 "keys, tokens and secrets"
# The search does find a key where there is one: the records file.
check "the key search finds alice's key in the records file" \
    'grep -q -i -F -e "$PSK_ALICE" "$records"'

finish
