#!/bin/sh
# test_akma_e2e.sh - AKMA end to end on loopback, with real processes: the
# AAnF emulator msgsec-aanf, UEs registered by `msgsec akma register`, the
# AF `msgsec serve` and the UE `msgsec connect` with the akma provider
# (implicit negotiation, stream framing); standard TLS clients (openssl
# s_client, gnutls-cli) against msgsec serve and msgsec connect against
# openssl s_server; a wrong key, an unknown A-KID, an AAnF that is down or
# slow, each failing cleanly while good clients of the same server go on;
# the AF's cache (one AAnF request per A-KID, never a key past its
# expiry); TLS 1.2 PSK as an option; and no key material in any output.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build tree:
# tools/msgsec, tools/msgsec-aanf, plugins/akma/akma.la), MSGSEC_TEST_DATA
# (tests/data in the source tree; the policies are in its akma/).
# Needs openssl(1) and gnutls-cli(1): without them the interoperability
# checks fail, they are not skipped.

# Conditions of check are single-quoted and evaluated there; derive sets
# the akidN, kakmaN and kafN variables through eval. The AAnF, the
# registrations, msgsec connect and the standard TLS clients are run and
# checked by the functions of lib.sh.
# shellcheck disable=SC2016,SC2034,SC2154

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
: "${MSGSEC_TEST_DATA:?set by make check}"

MSGSEC=$MSGSEC_TEST_BUILDDIR/tools/msgsec
AANF=$MSGSEC_TEST_BUILDDIR/tools/msgsec-aanf
PROVIDER_DIR=$MSGSEC_TEST_BUILDDIR/plugins/akma
DATA=$MSGSEC_TEST_DATA/akma
FQDN=msgin5g.example.com
SVC=msgin5g
# The AF's limit for one AAnF request; the slow AAnF answers well beyond
# it, the queueing one well within it.
AANF_TIMEOUT_MS=3000
SLOW_MS=8000
QUEUE_MS=400

# UE 1 is DOMAIN.md's; the others have keys of their own. UE 3 is
# registered only once the AAnF has been restarted. WRONG_KAUSF gives the
# K_AKMA of a UE that presents UE 1's A-KID with the wrong key.
KAUSF1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SUPI1=imsi-001010000000001
KAUSF2=a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90
SUPI2=imsi-001010000000002
KAUSF3=5f4e3d2c1b0a99887766554433221100ffeeddccbbaa00998877665544332211
SUPI3=imsi-001010000000003
WRONG_KAUSF=0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000
# DOMAIN.md's known answers for UE 1.
KNOWN_K_AKMA=bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e
KNOWN_K_AF=23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init akma-e2e
if [ ! -x "$MSGSEC" ] || [ ! -x "$AANF" ] ||
    [ ! -f "$PROVIDER_DIR/akma.la" ]; then
    abort "msgsec, msgsec-aanf or the akma module not built"
fi

# derive N KAUSF SUPI: sets akidN, kakmaN and kafN from `msgsec akma
# derive` and adds the keys to $secrets. The output is never written to a
# file: it is the one output that holds keys by design.
derive() {
    last="msgsec akma derive --kausf ... --supi $3 ... --af-fqdn $FQDN"
    d=$("$MSGSEC" akma derive --kausf "$2" --supi "$3" --rid 0 --mcc 001 \
        --mnc 01 --af-fqdn "$FQDN" 2>"$err")
    rc=$?
    a=$(printf '%s\n' "$d" | sed -n 's/^A-KID=//p')
    k=$(printf '%s\n' "$d" | sed -n 's/^K_AKMA=//p')
    f=$(printf '%s\n' "$d" | sed -n 's/^K_AF=//p')
    : >"$out"
    check "derive UE $1: exit 0, A-KID, K_AKMA and K_AF" \
        '[ "$rc" -eq 0 ] && [ -n "$a" ] && [ ${#k} -eq 64 ] && [ ${#f} -eq 64 ]'
    eval "akid$1=\$a kakma$1=\$k kaf$1=\$f"
    secrets="$secrets $2 $k $f"
}

tls_clients

# ------------------------------------------------------------ the keys

derive 1 "$KAUSF1" "$SUPI1"
derive 2 "$KAUSF2" "$SUPI2"
derive 3 "$KAUSF3" "$SUPI3"
derive w "$WRONG_KAUSF" "$SUPI1"
check "UE 1 has DOMAIN.md's K_AKMA and K_AF" \
    '[ "$kakma1" = "$KNOWN_K_AKMA" ] && [ "$kaf1" = "$KNOWN_K_AF" ]'
check "the A-KIDs differ" \
    '[ "$akid1" != "$akid2" ] && [ "$akid1" != "$akid3" ] &&
    [ "$akid2" != "$akid3" ] && [ "$akid1" != "$akidw" ]'

printf '%s\n' "$KAUSF2" >"$tmp/kausf2.key"
chmod 600 "$tmp/kausf2.key"
ue1=$tmp/ue1.conf
ue2=$tmp/ue2.conf
ue3=$tmp/ue3.conf
uew=$tmp/uew.conf
subst "$DATA/ue.conf" "$ue1" PROVIDER_DIR="$PROVIDER_DIR" KAUSF="$KAUSF1" \
    SUPI="$SUPI1"
subst "$DATA/ue-file.conf" "$ue2" PROVIDER_DIR="$PROVIDER_DIR" \
    KAUSF_FILE="$tmp/kausf2.key" SUPI="$SUPI2"
subst "$DATA/ue.conf" "$ue3" PROVIDER_DIR="$PROVIDER_DIR" KAUSF="$KAUSF3" \
    SUPI="$SUPI3"
subst "$DATA/ue-kakma.conf" "$uew" PROVIDER_DIR="$PROVIDER_DIR" \
    KAKMA="$kakmaw" AKID="$akid1"

# ------------------------- msgsec connect <-> msgsec serve through the AAnF

aanf_start aanf-one 0 || finish
a1=$apid
a1log=$aanf_log
P=$aport
register "$SUPI1" "$KAUSF1" "$akid1"
register "$SUPI2" "$KAUSF2" "$akid2"
af=$tmp/af.conf
subst "$DATA/af.conf" "$af" PROVIDER_DIR="$PROVIDER_DIR" \
    AANF_URI="http://127.0.0.1:$P" AANF_TIMEOUT_MS="$AANF_TIMEOUT_MS" TLS12=no
serve_start af "$af" "$SVC" -v
sp=$spid
S=$sport
sout=$tmp/af.out

conn 0 "hello\nsecond line\nno newline at the end" "$S" "$ue1"
same "$out" "akma $akid1: hello\nakma $akid1: second line\nakma $akid1: no newline at the end\n"
has "$err" "established scheme=akma identity=$FQDN"
established "$sout" "scheme=akma identity=$akid1 supi=$SUPI1" \
    "the address, A-KID and SUPI of UE 1"
check "one AAnF retrieve for UE 1" '[ "$(retrieves "$a1log" "$akid1")" -eq 1 ]'

# The second connection of the same UE takes K_AF from the AF's cache.
served "akma $akid1" again "$S" "$ue1" --peer-name "$FQDN"
check "no second AAnF retrieve for UE 1" \
    '[ "$(retrieves "$a1log" "$akid1")" -eq 1 ]'

# UE 2, its K_AUSF in a key file, with --framing given explicitly.
served "akma $akid2" "from two" "$S" "$ue2" --framing stream
has "$err" "established scheme=akma identity=$FQDN"
established "$sout" "scheme=akma identity=$akid2 supi=$SUPI2" "UE 2"
check "one AAnF retrieve for UE 2" '[ "$(retrieves "$a1log" "$akid2")" -eq 1 ]'

# --------------------------------- standard TLS clients against msgsec serve

if [ "$have_openssl" = yes ]; then
    tls_ok s_client "akma $akid1" psk_s_client "$S" "3GPP-AKMA$akid1" \
        "$kaf1" -tls1_3
    same "$tmp/s_client.out" "akma $akid1: from s_client\n"

    # A wrong K_AF: the server's binder check fails; the server says so.
    n0=$(failed_lines "$sout")
    tls_fails "openssl s_client -tls1_3 -psk <K_AF of UE 2> -psk_identity 3GPP-AKMA<A-KID of UE 1>" \
        "akma " psk_s_client "$S" "3GPP-AKMA$akid1" "$kaf2" -tls1_3
    server_failed "$sout" "$n0" "MSGSEC_ERR_AUTH_FAILED: provider akma: TLS handshake failed: binder does not verify"
fi

if [ "$have_gnutls" = yes ]; then
    tls_ok gnutls "akma $akid2" psk_gnutls "$S" "3GPP-AKMA$akid2" "$kaf2" \
        'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+PSK'
    has "$tmp/gnutls.out" "- PSK authentication. Connected as '3GPP-AKMA$akid2'"

    # psk_ke only (no forward secrecy): refused by the policy's default.
    tls_fails "gnutls-cli --pskusername 3GPP-AKMA<A-KID of UE 1> --pskkey <K_AF> --priority NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK (only psk_ke)" \
        "akma " psk_gnutls "$S" "3GPP-AKMA$akid1" "$kaf1" \
        'NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK'
    wait_for "$sout" "the client offers only psk_ke (no forward secrecy), which this server does not allow"
fi
if [ "$have_openssl" = yes ]; then
    # Identities that are no AKMA ones, or carry no A-KID, are refused
    # before any AAnF request.
    r0=$(grep -c ' /naanf-akma/v1/retrieve-applicationkey -> ' "$a1log")
    tls_fails "openssl s_client -tls1_3 -psk <K_AF> -psk_identity 3GPP-AKMAnot-an-akid (a malformed A-KID)" \
        "akma " psk_s_client "$S" "3GPP-AKMAnot-an-akid" "$kaf1" -tls1_3
    wait_for "$sout" "MSGSEC_ERR_AUTH_FAILED: provider akma: the PSK identity carries no valid A-KID"
    tls_fails "openssl s_client -tls1_3 -psk <K_AF> -psk_identity someone-else (not AKMA)" \
        "akma " psk_s_client "$S" "someone-else" "$kaf1" -tls1_3
    wait_for "$sout" "MSGSEC_ERR_UNCLAIMED: service $SVC: no provider claimed the first token: akma: not its token"
    check "no AAnF request for them" \
        '[ "$(grep -c " /naanf-akma/v1/retrieve-applicationkey -> " "$a1log")" -eq "$r0" ]'

    # TLS 1.2 is off by default.
    n0=$(failed_lines "$sout")
    tls_fails "openssl s_client -tls1_2 -psk <K_AF> -psk_identity 3GPP-AKMA<A-KID> (tls12 = no)" \
        "akma " psk_s_client "$S" "3GPP-AKMA$akid1" "$kaf1" -tls1_2
    server_failed "$sout" "$n0"
fi
# The standard clients' keys came from the cache.
check "still one AAnF retrieve for each UE" \
    '[ "$(retrieves "$a1log" "$akid1")" -eq 1 ] &&
    [ "$(retrieves "$a1log" "$akid2")" -eq 1 ]'

# ---------------------------------------------------------------- failures

# A UE presenting UE 1's A-KID with the K_AKMA of a wrong K_AUSF, while UE 2
# is connected: both sides report the authentication failure, and UE 2,
# which sends its second line only after that, is still served.
conn_open good1 6 "$S" "$ue2"
gpid=$bgpid
feed 6 "before"
wait_for "$tmp/good1.out" "akma $akid2: before"
n0=$(failed_lines "$sout")
conn 3 "x\n" "$S" "$uew"
has "$err" "failed: MSGSEC_ERR_AUTH_FAILED: provider akma: TLS handshake failed"
lacks "$err" "established"
empty_out
server_failed "$sout" "$n0" "MSGSEC_ERR_AUTH_FAILED: provider akma: TLS handshake failed: binder does not verify"
feed 6 "after"
fifo_close good1 6 "$gpid"
same "$tmp/good1.out" "akma $akid2: before\nakma $akid2: after\n"

# The UE targets another name: its K_AF is not the AF's.
n0=$(failed_lines "$sout")
conn 3 "x\n" "$S" "$ue1" --peer-name other.example.com
has "$err" "failed: MSGSEC_ERR_AUTH_FAILED: provider akma: TLS handshake failed"
empty_out
server_failed "$sout" "$n0" "MSGSEC_ERR_AUTH_FAILED: provider akma: TLS handshake failed: binder does not verify"

# An A-KID the AAnF does not know (UE 3 is not registered yet): 204, and
# the UE is told to run primary authentication again.
conn 3 "x\n" "$S" "$ue3"
has "$err" "failed: MSGSEC_ERR_REAUTH_REQUIRED: provider akma: the AF $FQDN does not know A-KID $akid3"
has "$err" "run primary authentication again"
empty_out
wait_for "$sout" "MSGSEC_ERR_KEY_UNAVAILABLE: provider akma: A-KID $akid3: the AAnF has no K_AF for this A-KID (HTTP 204"
wait_for "$a1log" "aKId=$akid3 afId=$FQDN;ua=0100000007 (unknown A-KID)"
served "akma $akid1" "right after" "$S" "$ue1"

# The AAnF is down: an uncached A-KID cannot be looked up; cached ones go on.
stop "$a1" "AAnF one"
clean "$a1log" "$tmp/aanf-one.out"
conn 3 "x\n" "$S" "$ue3"
has "$err" "failed: MSGSEC_ERR_PEER_REJECTED: provider akma: the AF $FQDN could not complete the handshake (alert internal_error)"
empty_out
wait_for "$sout" "MSGSEC_ERR_LOOKUP_FAILED: provider akma: A-KID $akid3: the AAnF is unreachable"
served "akma $akid1" cached "$S" "$ue1"
served "akma $akid2" "cached too" "$S" "$ue2"

# A slow AAnF on the same address: the look-up times out on the AF. A UE
# connected meanwhile is answered before the look-up gives up: the pending
# session holds up no other.
if aanf_start aanf-slow "$P" --delay-ms "$SLOW_MS"; then
    a2=$apid
    a2log=$aanf_log
    register "$SUPI3" "$KAUSF3" "$akid3"
    conn_open good2 6 "$S" "$ue1"
    gpid=$bgpid
    feed 6 "first"
    wait_for "$tmp/good2.out" "akma $akid1: first"
    conn_open slow 7 "$S" "$ue3"
    bpid=$bgpid
    feed 7 "x"
    feed 6 "while pending"
    wait_for "$tmp/good2.out" "akma $akid1: while pending"
    # The look-up cannot give up before AANF_TIMEOUT_MS, far longer than
    # one line's round trip: a server held up by it would fail it first.
    lacks "$sout" "MSGSEC_ERR_TIMEOUT"
    fifo_close good2 6 "$gpid"
    same "$tmp/good2.out" "akma $akid1: first\nakma $akid1: while pending\n"
    fifo_close slow 7 "$bpid" 3
    has "$tmp/slow.err" "failed: MSGSEC_ERR_PEER_REJECTED: provider akma: the AF $FQDN could not complete the handshake (alert internal_error)"
    wait_for "$sout" "MSGSEC_ERR_TIMEOUT: provider akma: A-KID $akid3: the AAnF did not answer within $AANF_TIMEOUT_MS ms"
    served "akma $akid1" "right after" "$S" "$ue1"
    stop "$a2" "slow AAnF"
    clean "$a2log" "$tmp/aanf-slow.out"
fi

# Restarted, a little slow (within the AF's limit): UE 3, whose failed
# look-ups were not cached, now succeeds; five connections of UE 3 at once
# make one AAnF request, the others waiting for its answer.
if aanf_start aanf-three "$P" --delay-ms "$QUEUE_MS"; then
    a3=$apid
    a3log=$aanf_log
    register "$SUPI3" "$KAUSF3" "$akid3"
    many 5 at-once "akma $akid3" "$MSGSEC" connect -v -c "$ue3" \
        --service "$SVC" --connect "127.0.0.1:$S"
    check "one AAnF retrieve for five concurrent connections of UE 3" \
        '[ "$(retrieves "$a3log" "$akid3")" -eq 1 ]'
    wait_for "$sout" "scheme=akma identity=$akid3 supi=$SUPI3 expiry="
    stop "$a3" "AAnF three"
    clean "$a3log" "$tmp/aanf-three.out"
fi

stop "$sp" "msgsec serve"
clean "$sout" "$tmp/af.err"
lacks "$tmp/af.err" "Sanitizer"

# ----------------------------------------- key expiry, and TLS 1.2 PSK

# The AAnF gives keys a short life: the AF serves from its cache until the
# expiry, never after it; the AAnF then answers 204 and the UE is told to
# run primary authentication again, after which it gets in.
if aanf_start aanf-expiry 0 --expiry 4; then
    a4=$apid
    a4log=$aanf_log
    t0=$(date +%s)
    register "$SUPI1" "$KAUSF1" "$akid1"
    af12=$tmp/af-tls12.conf
    subst "$DATA/af.conf" "$af12" PROVIDER_DIR="$PROVIDER_DIR" \
        AANF_URI="http://127.0.0.1:$aport" AANF_TIMEOUT_MS="$AANF_TIMEOUT_MS" \
        TLS12=yes
    serve_start expiry "$af12" "$SVC" -v
    ep=$spid
    E=$sport
    eout=$tmp/expiry.out
    served "akma $akid1" fresh "$E" "$ue1"
    served "akma $akid1" cached "$E" "$ue1"
    check "one AAnF retrieve before the expiry" \
        '[ "$(retrieves "$a4log" "$akid1")" -eq 1 ]'
    # Past the expiry: whole seconds, and registration may have begun in
    # the second after t0.
    while [ "$(date +%s)" -lt $((t0 + 6)) ]; do
        sleep 0.2
    done
    conn 3 "x\n" "$E" "$ue1"
    has "$err" "failed: MSGSEC_ERR_REAUTH_REQUIRED: provider akma: the AF $FQDN does not know A-KID $akid1"
    empty_out
    wait_for "$eout" "MSGSEC_ERR_KEY_UNAVAILABLE: provider akma: A-KID $akid1"
    check "the expired key was asked for again, not used" \
        '[ "$(retrieves "$a4log" "$akid1")" -eq 2 ]'
    has "$a4log" "aKId=$akid1 afId=$FQDN;ua=0100000007 (expired)"
    # Primary authentication again: the AUSF registers anew.
    register "$SUPI1" "$KAUSF1" "$akid1"
    served "akma $akid1" renewed "$E" "$ue1"

    if [ "$have_openssl" = yes ]; then
        # TLS 1.2: K_AF for the Ua* identifier 01 00 01 CC AC (the
        # policy's default suite ECDHE-PSK-CHACHA20-POLY1305).
        last="msgsec akma derive ... --ua-id 010001ccac"
        kaf12=$("$MSGSEC" akma derive --kausf "$KAUSF1" --supi "$SUPI1" \
            --af-fqdn "$FQDN" --ua-id 010001ccac 2>"$err" |
            sed -n 's/^K_AF=//p')
        check "derive K_AF for TLS 1.2" '[ ${#kaf12} -eq 64 ]'
        secrets="$secrets $kaf12"
        tls_ok s_client12 "akma $akid1" psk_s_client "$E" "3GPP-AKMA$akid1" \
            "$kaf12" -tls1_2 -cipher ECDHE-PSK-CHACHA20-POLY1305
        has "$a4log" "aKId=$akid1 afId=$FQDN;ua=010001ccac expiry="
    fi
    stop "$ep" "msgsec serve (expiry)"
    stop "$a4" "AAnF expiry"
    clean "$eout" "$tmp/expiry.err" "$a4log"
fi

# ------------------------------------- msgsec connect against openssl s_server

if [ "$have_openssl" = yes ]; then
    # s_server cannot report an ephemeral port: take a free one, and try
    # another when someone else took it first.
    started=no
    on_free_port s_server ACCEPT openssl s_server -nocert -tls1_3 \
        -psk "$kaf1" -psk_identity "3GPP-AKMA$akid1" \
        -accept "127.0.0.1:@PORT@" -rev && started=yes
    sspid=$bgpid
    last="openssl s_server -nocert -tls1_3 -psk <K_AF> -psk_identity 3GPP-AKMA<A-KID> -accept 127.0.0.1:PORT -rev"
    if [ $started = yes ]; then
        ok "openssl s_server accepts on 127.0.0.1:$fport"
        conn 0 "hello s_server\n" "$fport" "$ue1" --framing stream
        same "$out" "revres_s olleh\n"
        has "$err" "established scheme=akma identity=$FQDN"
        wait_for "$tmp/s_server.err" "CONNECTION ESTABLISHED"
        has "$tmp/s_server.err" "Protocol version: TLSv1.3"
        # The wrong key against s_server: the UE reports the failure.
        conn 3 "x\n" "$fport" "$uew"
        has "$err" "failed: MSGSEC_ERR_AUTH_FAILED: provider akma"
        empty_out
        conn 0 "still here\n" "$fport" "$ue1"
        same "$out" "ereh llits\n"
        # s_server has no handler for SIGTERM: it dies of it.
        kill -TERM "$sspid"
        await "$sspid" 143 "openssl s_server after SIGTERM"
        clean "$tmp/s_server.out" "$tmp/s_server.err"
    else
        bad "openssl s_server did not start"
        sed 's/^/  s_server: /' "$tmp/s_server.out" "$tmp/s_server.err"
    fi
fi

# ------------------------------------------------- no key material anywhere

want_n=12
[ "$have_openssl" = yes ] && want_n=13
no_secrets "$want_n" "keys (K_AUSF, K_AKMA, K_AF of 4 UEs, K_AF for TLS 1.2)"
# The search does find a key where there is one: the key file of UE 2.
check "the key search finds K_AUSF of UE 2 in its key file" \
    'grep -q -i -F -e "$KAUSF2" "$tmp/kausf2.key"'

finish
