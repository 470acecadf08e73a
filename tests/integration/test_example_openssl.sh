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

# Conditions of check are single-quoted and evaluated there.
# shellcheck disable=SC2016

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

SVC=msgin5g

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init example-openssl
secrets="$K_AF $WRONG_K_AF $KAUSF"

if [ ! -x "$MSGSEC" ] || [ ! -x "$AANF" ] || [ ! -x "$SERVER" ] ||
    [ ! -f "$PROVIDER_DIR/akma.la" ] || ! command -v openssl >/dev/null 2>&1; then
    abort "msgsec, msgsec-aanf, openssl-psk-server, the akma module or openssl(1) missing"
fi

# A failing check shows every output so far.
details() {
    echo "  command: $last"
    for f in "$tmp"/*.out "$tmp"/*.err; do
        [ -f "$f" ] && sed "s|^|  $(basename "$f"): |" "$f"
    done
}

# ---------------------------------------------------------- the AAnF

aanf_start aanf 0 || finish
register "$SUPI" "$KAUSF" "$AKID"

cat >"$tmp/policy.conf" <<CONF
[core]
provider_dir = $PROVIDER_DIR

[provider.akma]
support  = mandatory
af_fqdn  = msgin5g.example.com
aanf_uri = http://127.0.0.1:$aport

[service.$SVC]
use = akma
CONF

# -------------------------------------------------------- the server

listener server "openssl-psk-server" "$SERVER" -c "$tmp/policy.conf" \
    --service "$SVC" --listen 127.0.0.1:0 || finish
spid=$bgpid
sport=$port

# K_AF from the AAnF: the handshake waits for the look-up.
tls_ok first "akma $AKID" psk_s_client "$sport" \
    "3GPP-AKMA$AKID" "$K_AF" -tls1_3
wait_for "$tmp/server.err" "scheme=akma identity=$AKID supi=$SUPI expiry="
# From the cache: no second request.
tls_ok second "akma $AKID" psk_s_client "$sport" \
    "3GPP-AKMA$AKID" "$K_AF" -tls1_3
check "one AAnF retrieve for two handshakes" \
    '[ "$(retrieves "$aanf_log" "$AKID")" -eq 1 ] &&
    [ "$(grep -c "retrieve-applicationkey -> 200" "$aanf_log")" -eq 1 ]'

# A wrong K_AF: OpenSSL's binder check fails.
tls_fails "s_client with a wrong K_AF" "akma " \
    psk_s_client "$sport" "3GPP-AKMA$AKID" "$WRONG_K_AF" -tls1_3
wait_for "$tmp/server.err" "binder does not verify"

# An A-KID the AAnF does not know: unknown_psk_identity.
tls_fails "s_client with an unknown A-KID" "akma " \
    psk_s_client "$sport" "3GPP-AKMA$UNKNOWN_AKID" "$K_AF" -tls1_3
has "$err" "unknown psk identity"
wait_for "$tmp/server.err" "MSGSEC_ERR_KEY_UNAVAILABLE: provider akma: A-KID $UNKNOWN_AKID"

# An identity no provider claims.
tls_fails "s_client with a foreign identity" "akma " \
    psk_s_client "$sport" "someone-else" "$K_AF" -tls1_3
wait_for "$tmp/server.err" "MSGSEC_ERR_UNCLAIMED"

# A client without PSK.
tls_fails "openssl s_client -tls1_3 (no PSK)" "akma " \
    openssl s_client -tls1_3 -connect "127.0.0.1:$sport" -quiet
wait_for "$tmp/server.err" "the client offered no PSK"

# The server goes on.
tls_ok last "akma $AKID" psk_s_client "$sport" \
    "3GPP-AKMA$AKID" "$K_AF" -tls1_3

# No key material anywhere.
no_secrets 3 "keys (K_AF, a wrong K_AF, K_AUSF)"

stop "$spid" "openssl-psk-server"

finish
