#!/bin/sh
# test_aanf.sh - the AAnF emulator msgsec-aanf end to end with the curl
# command-line tool, over HTTP/2 with prior knowledge and over HTTP/1.1:
# register-anchorkey, retrieve-applicationkey (K_AF must equal the
# known-answer value of DOMAIN.md), the NEF retrieve, remove-context, 204
# for unknown material, ProblemDetails errors, both key encodings, both
# afId formats, expiry, the failure knobs and a clean exit on SIGTERM.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build tree).
# Needs curl(1) with HTTP/2 and perl(1) (scripts/bootstrap.sh installs them);
# without them the test fails rather than passing unchecked.

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
AANF=$MSGSEC_TEST_BUILDDIR/tools/msgsec-aanf
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init aanf

# DOMAIN.md: K_AKMA of K_AUSF 00..1f and SUPI 001010000000001, and the
# K_AF it gives for AF_ID "msgin5g.example.com" || 01 00 00 00 07.
K_AKMA=bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e
K_AF=23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb
SUPI=imsi-001010000000001
AKID=0001.67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b@5gc.mnc001.mcc001.3gppnetwork.org
AFID='msgin5g.example.com;ua=0100000007'

[ -x "$AANF" ] || abort "$AANF not built"
if ! command -v curl >/dev/null 2>&1 || ! curl -V | grep -q HTTP2 ||
    ! command -v perl >/dev/null 2>&1; then
    abort "needs curl with HTTP/2 and perl (scripts/bootstrap.sh installs them)"
fi

# details: a failed check shows the last response.
details() {
    [ -f "$tmp/headers" ] && sed 's/^/  headers: /' "$tmp/headers"
    [ -f "$tmp/body" ] && sed 's/^/  body: /' "$tmp/body" && echo
}

b64() { perl -e 'print pack("H*", $ARGV[0])' "$1" | base64; }

# start NAME [OPTION...]: runs the emulator on an ephemeral port; sets
# $url (the apiRoot) and $pid; its log is $tmp/NAME.err.
start() {
    n=$1
    shift
    listener "$n" "msgsec-aanf $n" "$AANF" --listen 127.0.0.1:0 "$@" ||
        finish
    pid=$bgpid
    url=http://127.0.0.1:$port
}

# post PROTO URL BODY [CURL OPTION...]: prints the status; headers and
# body land in $tmp/headers and $tmp/body.
post() {
    proto=$1
    u=$2
    body=$3
    shift 3
    curl -s "$proto" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary "$body" "$@" "$u"
}

json_field() { # json_field NAME: the string value of a member of $tmp/body
    sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$tmp/body"
}

has_header() { grep -qi "^$1" "$tmp/headers"; }

reg_body() {
    printf '{"aKId":"%s","kAkma":"%s","supi":"%s"}' "$AKID" "$1" "$SUPI"
}
req_body() { printf '{"afId":"%s","aKId":"%s"}' "$1" "$2"; }

# ---------------------------------------------------------------------
start main
main_pid=$pid
main_url=$url
for proto in --http2-prior-knowledge --http1.1; do
    case $proto in
    --http2*) v=h2c want='HTTP/2 ' ;;
    *) v=http/1.1 want='HTTP/1.1 ' ;;
    esac

    s=$(post $proto "$url/naanf-akma/v1/register-anchorkey" "$(reg_body $K_AKMA)")
    check "$v: register-anchorkey answers 200 AkmaKeyInfo" \
        '[ "$s" = 200 -a "$(json_field aKId)" = "$AKID" ]'
    check "$v: spoken as $v" \
        'has_header "$want"'

    s=$(post $proto "$url/naanf-akma/v1/retrieve-applicationkey" \
        "$(req_body "$AFID" "$AKID")")
    check "$v: retrieve answers 200 application/json" \
        '[ "$s" = 200 ] && has_header "content-type: application/json"'
    check "$v: K_AF equals the DOMAIN.md known answer" \
        '[ "$(json_field kaf)" = "$K_AF" ]'
    check "$v: AkmaAfKeyData has an RFC 3339 expiry and the SUPI" \
        'json_field expiry | grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\$" &&
        [ "$(json_field supi)" = "$SUPI" ]'

    s=$(post $proto "$url/3gpp-akma/v1/retrieve" "$(req_body "$AFID" "$AKID")")
    check "$v: NEF retrieve gives the same K_AF and no SUPI" \
        '[ "$s" = 200 -a "$(json_field kaf)" = "$K_AF" -a -z "$(json_field supi)" ]'

    s=$(post $proto "$url/naanf-akma/v1/retrieve-applicationkey" \
        "$(req_body "$AFID" "0001.00@5gc.mnc001.mcc001.3gppnetwork.org")")
    check "$v: unknown A-KID answers 204 without a body" \
        '[ "$s" = 204 -a ! -s "$tmp/body" ]'

    s=$(post $proto "$url/naanf-akma/v1/retrieve-applicationkey" '{"afId":')
    check "$v: malformed JSON answers 400 problem+json" \
        '[ "$s" = 400 ] && has_header "content-type: application/problem+json" &&
        grep -q "\"status\":400" "$tmp/body" &&
        grep -q "\"cause\":\"INVALID_MSG_FORMAT\"" "$tmp/body"'

    s=$(post $proto "$url/naanf-akma/v1/retrieve-applicationkey" \
        "{\"afId\":\"$AFID\"}")
    check "$v: a missing aKId answers 400 naming it" \
        '[ "$s" = 400 ] &&
        grep -q "\"invalidParams\":\[{\"param\":\"/aKId\"" "$tmp/body"'

    s=$(post $proto "$url/naanf-akma/v1/retrieve-applicationkey" \
        "$(req_body "$AFID" "$AKID")" -H 'Content-Type: text/plain')
    check "$v: another content type answers 415" \
        '[ "$s" = 415 ]'

    s=$(post $proto "$url/naanf-akma/v1/elsewhere" '{}')
    check "$v: an unknown path answers 404 problem+json" \
        '[ "$s" = 404 ] && has_header "content-type: application/problem+json"'

    s=$(curl -s $proto -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
        "$url/naanf-akma/v1/retrieve-applicationkey")
    check "$v: GET answers 405 with Allow: POST" \
        '[ "$s" = 405 ] && has_header "allow: POST"'

    perl -e 'print "{\"afId\":\"", "a" x 20000, "\"}"' >"$tmp/big"
    s=$(curl -s $proto -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
        -H 'Content-Type: application/json' --data-binary @"$tmp/big" \
        "$url/naanf-akma/v1/retrieve-applicationkey")
    check "$v: a body over 16 KiB answers 413" \
        '[ "$s" = 413 ]'

    s=$(post $proto "$url/naanf-akma/v1/remove-context" "{\"supi\":\"$SUPI\"}")
    check "$v: remove-context answers 204" \
        '[ "$s" = 204 ]'
    s=$(post $proto "$url/naanf-akma/v1/retrieve-applicationkey" \
        "$(req_body "$AFID" "$AKID")")
    check "$v: after remove-context retrieve answers 204" \
        '[ "$s" = 204 ]'
done

s=$(curl -s --http1.1 -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' \
    -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
    --data-binary '{}' "$url/naanf-akma/v1/remove-context")
check "http/1.1: a body without Content-Length answers 411" \
    '[ "$s" = 411 ]'

check "the log has one line per request" \
    '[ "$(grep -c " -> " "$tmp/main.err")" -eq 25 ]'
check "the log holds no key material" \
    '! grep -qi -e "$K_AKMA" -e "$K_AF" "$tmp/main.err"'
stop "$main_pid" "default settings"

# --------------------------------------------------- base64 keys, fqdn
start b64 --key-encoding base64 --afid-format fqdn
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/register-anchorkey" \
    "$(reg_body "$(b64 $K_AKMA)")")
check "base64: register-anchorkey with a base64 kAkma" \
    '[ "$s" = 200 ]'
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/register-anchorkey" \
    "$(reg_body $K_AKMA)")
check "base64: a hex kAkma answers 400" \
    '[ "$s" = 400 ]'
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body msgin5g.example.com "$AKID")")
check "base64, fqdn afId: K_AF (TLS 1.3 assumed) in base64" \
    '[ "$s" = 200 -a "$(json_field kaf)" = "$(b64 $K_AF)" ]'
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")")
check "fqdn afId format: an afId with ;ua= answers 400" \
    '[ "$s" = 400 ]'
stop "$pid" "base64"

# ------------------------------------------------------------- expiry
start exp --expiry 1
s=$(post --http1.1 "$url/naanf-akma/v1/register-anchorkey" "$(reg_body $K_AKMA)")
sleep 2.2
s=$(post --http1.1 "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")")
check "expired key material answers 204" \
    '[ "$s" = 204 ]'
stop "$pid" "expiry"

# ------------------------------------------------------ failure knobs
start fail --fail-status 503
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")")
check "--fail-status 503: 503 with ProblemDetails" \
    '[ "$s" = 503 ] && grep -q "\"status\":503" "$tmp/body"'
stop "$pid" "--fail-status"

start garbage --garbage
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")")
check "--garbage: 200 with a truncated JSON body" \
    '[ "$s" = 200 ] && ! grep -q "}" "$tmp/body"'
stop "$pid" "--garbage"

start short --wrong-kaf-length
post --http1.1 "$url/naanf-akma/v1/register-anchorkey" "$(reg_body $K_AKMA)" >/dev/null
s=$(post --http1.1 "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")")
kaf=$(json_field kaf)
check "--wrong-kaf-length: a kaf of 62 hex digits" \
    '[ "$s" = 200 -a "${#kaf}" -eq 62 ]'
stop "$pid" "--wrong-kaf-length"

start slow --delay-ms 1000
post --http2-prior-knowledge "$url/naanf-akma/v1/register-anchorkey" \
    "$(reg_body $K_AKMA)" >/dev/null
post --http2-prior-knowledge "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")" --max-time 0.3 >/dev/null
rc=$?
check "--delay-ms 1000: a client with a 0.3 s limit times out" \
    '[ "$rc" -eq 28 ]'
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/register-anchorkey" \
    "$(reg_body $K_AKMA)" --max-time 0.5)
check "--delay-ms: other operations answer at once" \
    '[ "$s" = 200 ]'
s=$(post --http2-prior-knowledge "$url/naanf-akma/v1/retrieve-applicationkey" \
    "$(req_body "$AFID" "$AKID")" --max-time 5)
check "--delay-ms 1000: a patient client gets K_AF" \
    '[ "$s" = 200 -a "$(json_field kaf)" = "$K_AF" ]'
stop "$pid" "--delay-ms"

# ------------------------------------------------------- command line
"$AANF" --help >"$tmp/help" 2>&1
rc=$?
check "--help exits 0 and lists the knobs" \
    '[ "$rc" -eq 0 ] && grep -q -- --wrong-kaf-length "$tmp/help"'
"$AANF" --listen 127.0.0.1:0 --key-encoding base32 >/dev/null 2>&1
rc=$?
check "a bad --key-encoding exits 2" \
    '[ "$rc" -eq 2 ]'
"$AANF" >/dev/null 2>&1
rc=$?
check "no --listen exits 2" \
    '[ "$rc" -eq 2 ]'
"$AANF" --listen 127.0.0.1:notaport >/dev/null 2>&1
rc=$?
check "a bad --listen address exits 1" \
    '[ "$rc" -eq 1 ]'

finish
