#!/bin/sh
# test_seal_km.sh - the SEAL key-management emulator msgsec-seal-km end to
# end with the curl command-line tool, over HTTP/2 with prior knowledge
# and over HTTP/1.1: the client-credentials token grant (good and bad),
# key records and associations with, without and with bad or expired
# bearer tokens, 404 for unknown services, users and identities, the
# keyInfo v1 content, the failure knobs, records files refused with
# FILE:LINE, no key or token in the log, a NUL byte in a request line
# answered 400 without harm, and a clean exit on SIGTERM.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build tree).
# Needs curl(1) with HTTP/2 and perl(1) with JSON::PP; without them the
# test fails rather than passing unchecked.

# Conditions of check are single-quoted and evaluated there, and call the
# helpers below, which read the variables set here.
# shellcheck disable=SC2016,SC2034,SC2317

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init seal-km

KM=$MSGSEC_TEST_BUILDDIR/tools/msgsec-seal-km
[ -x "$KM" ] || abort "$KM not built"
if ! command -v curl >/dev/null 2>&1 || ! curl -V | grep -q HTTP2 ||
    ! perl -MJSON::PP -e 1 >/dev/null 2>&1; then
    abort "needs curl with HTTP/2 and perl with JSON::PP"
fi

KEY_A=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
KEY_B=f0e0d0c0b0a090807060504030201000
STATIC=c3RhdGljLXRva2Vu.static-token
SECRET=s3cret-km-client
secrets="$KEY_A $KEY_B $STATIC $SECRET"
TGT_ALICE='%7B%22valUserId%22%3A%22alice%22%7D'
TGT_BOB='%7B%22valUserId%22%3A%22bob%22%7D'
TGT_CAROL='%7B%22valUserId%22%3A%22carol%22%7D'

cat >"$tmp/records" <<EOF
# static token of the MSGin5G Server
token $STATIC
client km-client $SECRET

key msgin5g alice 3GPP-SEAL:alice#1 $KEY_A 3600
	key msgin5g bob 3GPP-SEAL:bob $KEY_B -60
assoc alice ue1@msgin5g.example,ue2@msgin5g.example
assoc imsi-001010000000001 ue3@msgin5g.example
EOF
chmod 600 "$tmp/records"

# A failing check shows the last answer.
details() {
    echo "  command: $last"
    [ -f "$tmp/last" ] && sed 's/^/  request: /' "$tmp/last"
    [ -f "$tmp/headers" ] && sed 's/^/  headers: /' "$tmp/headers"
    [ -f "$tmp/body" ] && sed 's/^/  body: /' "$tmp/body" && echo
}

# start NAME [OPTION...]: the emulator on an ephemeral port; $url (the
# apiRoot) and $kpid.
start() {
    _n=$1
    shift
    listener "$_n" "msgsec-seal-km${*:+ $*}" "$KM" --listen 127.0.0.1:0 \
        --records "$tmp/records" "$@" || finish
    url=http://127.0.0.1:$port
    kpid=$bgpid
    : >"$tmp/requests"
}

# req PROTO [CURL OPTION...] URL: prints the status; headers and body in
# $tmp/headers and $tmp/body. Usually run in a subshell: the request is
# recorded in files ($tmp/last, a line in $tmp/requests).
req() {
    _p=$1
    shift
    echo "curl $_p $*" >"$tmp/last"
    echo >>"$tmp/requests"
    curl -s "$_p" -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' "$@"
}

# grant PROTO ID SECRET [GRANT]: the token request.
grant() {
    req "$1" -d "grant_type=${4:-client_credentials}&client_id=$2&client_secret=$3" \
        "$url/oauth2/token"
}

# bearer PROTO TOKEN URL [CURL OPTION...]: a GET with a bearer token (""
# for none).
bearer() {
    _p=$1
    _t=$2
    _u=$3
    shift 3
    if [ -n "$_t" ]; then
        req "$_p" -H "Authorization: Bearer $_t" "$@" "$_u"
    else
        req "$_p" "$@" "$_u"
    fi
}
# keys PROTO TOKEN QUERY [CURL OPTION...]; assoc PROTO TOKEN IDENTITY
keys() {
    _k=$1
    _kt=$2
    _kq=$3
    shift 3
    bearer "$_k" "$_kt" "$url/ss-kir/v1/key-records?$_kq" "$@"
}
assoc() {
    bearer "$1" "$2" "$url/msgsec-seal-cm/v1/associations?identity=$3"
}

# refuses PROTO STATUS TOKEN QUERY WHAT: key-records answers STATUS with a
# ProblemDetails.
refuses() {
    want=$2
    s=$(keys "$1" "$3" "$4")
    check "$v: $5 answers $want ProblemDetails" \
        '[ "$s" = "$want" ] && problem "$want"'
}

has_header() { grep -qi "^$1" "$tmp/headers"; }
problem() { has_header "content-type: application/problem+json" &&
    grep -q "\"status\":$1" "$tmp/body"; }

# json EXPR: a value of the body through perl (JSON::PP), $j the decoded
# body; empty when the body does not decode.
json() {
    perl -MJSON::PP -e '
        local $/; my $t = <STDIN>;
        my $j = eval { JSON::PP->new->decode($t) } or exit 1;
        my $v = eval $ARGV[0]; exit 2 if $@;
        print defined $v ? $v : "";' "$1" <"$tmp/body"
}
# ki FIELD: a member of the keyInfo v1 object in a ValKeyInfo body.
ki() {
    json "JSON::PP->new->decode(\$j->{keyInfo})->{$1}"
}
epoch() { date -u -d "$1" +%s 2>/dev/null || echo 0; }

# ------------------------------------------------------------ default
start main
main_pid=$kpid
for proto in --http2-prior-knowledge --http1.1; do
    case $proto in
    --http2*) v=h2c want='HTTP/2 ' ;;
    *) v=http/1.1 want='HTTP/1.1 ' ;;
    esac

    s=$(grant $proto km-client "$SECRET")
    tok=$(json '$j->{access_token}')
    check "$v: token grant answers 200 with a Bearer token" \
        '[ "$s" = 200 ] && has_header "$want" &&
        [ "$(json "\$j->{token_type}")" = Bearer ] &&
        echo "$tok" | grep -Eq "^[0-9a-f]{64}\$" &&
        [ "$(json "\$j->{expires_in}")" = 3600 ]'
    check "$v: token answer is not to be cached" \
        'has_header "cache-control: no-store"'
    secrets="$secrets $tok"

    s=$(grant $proto km-client wrong-secret)
    check "$v: a wrong client secret answers 401 invalid_client" \
        '[ "$s" = 401 -a "$(json "\$j->{error}")" = invalid_client ]'
    s=$(grant $proto stranger "$SECRET")
    check "$v: an unknown client answers 401 invalid_client" \
        '[ "$s" = 401 -a "$(json "\$j->{error}")" = invalid_client ]'
    s=$(grant $proto km-client "$SECRET" password)
    check "$v: another grant type answers 400 unsupported_grant_type" \
        '[ "$s" = 400 -a "$(json "\$j->{error}")" = unsupported_grant_type ]'
    s=$(req $proto -d "client_id=km-client" "$url/oauth2/token")
    check "$v: a token request without grant_type answers 400 invalid_request" \
        '[ "$s" = 400 -a "$(json "\$j->{error}")" = invalid_request ]'

    s=$(keys $proto "$tok" "val-service-id=msgin5g&val-tgt-ue=$TGT_ALICE")
    check "$v: key-records with the granted token answers 200 ValKeyInfo" \
        '[ "$s" = 200 ] && has_header "content-type: application/json" &&
        [ "$(json "\$j->{userUri}")" = sip:alice ] &&
        [ "$(json "\$j->{valService}")" = msgin5g ] &&
        [ "$(json "\$j->{skmsId}")" = msgsec-seal-km ] &&
        [ "$(json "\$j->{valTgtUe}{valUserId}")" = alice ]'
    check "$v: keyInfo v1 carries the record's identity, key and expiry" \
        '[ "$(ki v)" = 1 -a "$(ki pskId)" = "3GPP-SEAL:alice#1" ] &&
        [ "$(ki psk)" = "$KEY_A" ] &&
        e=$(epoch "$(ki expiry)") && n=$(date +%s) &&
        [ "$e" -gt $((n + 3000)) -a "$e" -le $((n + 3600)) ]'

    s=$(keys $proto "$STATIC" "val-service-id=msgin5g&val-tgt-ue=$TGT_BOB")
    check "$v: a static token works; an expired key is served with its past expiry" \
        '[ "$s" = 200 -a "$(ki pskId)" = 3GPP-SEAL:bob -a "$(ki psk)" = "$KEY_B" ] &&
        [ "$(epoch "$(ki expiry)")" -lt "$(date +%s)" ]'

    s=$(keys $proto "$STATIC" "val-service-id=msgin5g")
    check "$v: without val-tgt-ue the service key expiring last" \
        '[ "$s" = 200 -a "$(ki pskId)" = "3GPP-SEAL:alice#1" ] &&
        [ -z "$(json "\$j->{valTgtUe}")" ]'

    s=$(keys $proto "" "val-service-id=msgin5g&val-tgt-ue=$TGT_ALICE")
    check "$v: key-records without a token answers 401 with WWW-Authenticate" \
        '[ "$s" = 401 ] && problem 401 &&
        has_header "www-authenticate: Bearer realm=\"msgsec-seal-km\"" &&
        ! has_header "www-authenticate:.*invalid_token"'
    s=$(keys $proto "not-a-token" "val-service-id=msgin5g&val-tgt-ue=$TGT_ALICE")
    check "$v: an unknown token answers 401 invalid_token" \
        '[ "$s" = 401 ] && problem 401 &&
        has_header "www-authenticate: Bearer .*error=\"invalid_token\""'
    s=$(req $proto -H "Authorization: Basic a20tY2xpZW50OnNlY3JldA==" \
        "$url/ss-kir/v1/key-records?val-service-id=msgin5g")
    check "$v: another authorization scheme answers 401" \
        '[ "$s" = 401 ] && problem 401'

    refuses $proto 404 "$tok" "val-service-id=other&val-tgt-ue=$TGT_ALICE" \
        "an unknown VAL service"
    refuses $proto 404 "$tok" "val-service-id=msgin5g&val-tgt-ue=$TGT_CAROL" \
        "an unknown VAL user"
    refuses $proto 400 "$tok" "val-service-id=msgin5g&color=blue" \
        "an unknown query parameter"
    refuses $proto 400 "$tok" "val-tgt-ue=$TGT_ALICE" \
        "a query without val-service-id"
    check "$v: the 400 names val-service-id" \
        'grep -q "\"param\":\"val-service-id\"" "$tmp/body"'

    s=$(assoc $proto "$tok" alice)
    check "$v: associations of a known identity answer 200" \
        '[ "$s" = 200 -a "$(json "\$j->{identity}")" = alice ] &&
        [ "$(json "join(\",\", @{\$j->{ueServiceIds}})")" = \
            "ue1@msgin5g.example,ue2@msgin5g.example" ]'
    s=$(assoc $proto "$STATIC" imsi-001010000000001)
    check "$v: associations of a SUPI answer 200" \
        '[ "$s" = 200 -a "$(json "\$j->{ueServiceIds}[0]")" = ue3@msgin5g.example ]'
    s=$(assoc $proto "$tok" carol)
    check "$v: associations of an unknown identity answer 404" \
        '[ "$s" = 404 ] && problem 404'
    s=$(assoc $proto "" alice)
    check "$v: associations without a token answer 401" \
        '[ "$s" = 401 ] && problem 401 && has_header "www-authenticate: Bearer"'

    s=$(req $proto -d x=1 "$url/ss-kir/v1/key-records?val-service-id=msgin5g")
    check "$v: POST to key-records answers 405 with Allow: GET" \
        '[ "$s" = 405 ] && has_header "allow: GET"'
    s=$(req $proto "$url/oauth2/token")
    check "$v: GET on the token endpoint answers 405 with Allow: POST" \
        '[ "$s" = 405 ] && has_header "allow: POST"'
    s=$(req $proto "$url/ss-kir/v2/elsewhere")
    check "$v: an unknown path answers 404 ProblemDetails" \
        '[ "$s" = 404 ] && problem 404'
done

nreq=$(wc -l <"$tmp/requests")
wait_count "$tmp/main.err" " -> " "$nreq"
check "the log has one line per request ($nreq)" \
    '[ "$count" -eq "$nreq" ]'
check "the log names the method, path and status" \
    'grep -q "GET /ss-kir/v1/key-records?val-service-id=msgin5g.* -> 200" "$tmp/main.err" &&
    grep -q "POST /oauth2/token -> 401 client_id=km-client (wrong secret)" "$tmp/main.err"'
check "the log tells an unknown token from a missing one" \
    'grep -q "(unknown token)" "$tmp/main.err" &&
    grep -q "(no bearer token)" "$tmp/main.err"'
last="the log"
n0=$failed
clean "$tmp/main.err" "$tmp/main.out"
check "the log holds no key, token or client secret" '[ "$failed" -eq "$n0" ]'
stop "$main_pid" "msgsec-seal-km"
check "the stop line counts the requests" \
    'grep -q "msgsec-seal-km: requests: $nreq (" "$tmp/main.err"'

# ------------------------------------------------------ expired token
# A lifetime long enough for the fresh-token check on a loaded machine.
start short --token-lifetime 4
s=$(grant --http1.1 km-client "$SECRET")
tok=$(json '$j->{access_token}')
secrets="$secrets $tok"
check "--token-lifetime 4: expires_in is 4" \
    '[ "$s" = 200 -a "$(json "\$j->{expires_in}")" = 4 ]'
s=$(keys --http2-prior-knowledge "$tok" "val-service-id=msgin5g")
check "a fresh token is accepted" '[ "$s" = 200 ]'
sleep 5
s=$(keys --http2-prior-knowledge "$tok" "val-service-id=msgin5g")
check "an expired token answers 401 invalid_token" \
    '[ "$s" = 401 ] && problem 401 &&
    has_header "www-authenticate: Bearer .*error=\"invalid_token\""'
s=$(assoc --http1.1 "$tok" alice)
check "an expired token is refused by associations too" '[ "$s" = 401 ]'
s=$(keys --http1.1 "$STATIC" "val-service-id=msgin5g")
check "static tokens do not expire" '[ "$s" = 200 ]'
wait_count "$tmp/short.err" "(expired token)" 2
check "the log says the token expired" '[ "$count" -eq 2 ]'
clean "$tmp/short.err"
stop "$kpid" "--token-lifetime"

# ------------------------------------------------------ failure knobs
start fail --fail-status 503
s=$(keys --http2-prior-knowledge "$STATIC" "val-service-id=msgin5g")
check "--fail-status 503: key-records answers 503 ProblemDetails" \
    '[ "$s" = 503 ] && problem 503'
s=$(keys --http1.1 "" "val-service-id=msgin5g")
check "--fail-status 503: before any token check" '[ "$s" = 503 ]'
s=$(assoc --http1.1 "$STATIC" alice)
check "--fail-status 503: associations answer 503" '[ "$s" = 503 ] && problem 503'
s=$(grant --http2-prior-knowledge km-client "$SECRET")
check "--fail-status 503: the token endpoint answers 503" '[ "$s" = 503 ]'
s=$(req --http1.1 "$url/nowhere")
check "--fail-status 503: unknown paths still answer 404" '[ "$s" = 404 ]'
stop "$kpid" "--fail-status"

start garbage --garbage
s=$(keys --http2-prior-knowledge "$STATIC" "val-service-id=msgin5g&val-tgt-ue=$TGT_ALICE")
check "--garbage: 200 ValKeyInfo whose keyInfo does not decode" \
    '[ "$s" = 200 ] && [ "$(json "\$j->{valService}")" = msgin5g ] &&
    [ -n "$(json "\$j->{keyInfo}")" ] &&
    ! json "JSON::PP->new->decode(\$j->{keyInfo})" >/dev/null 2>&1 &&
    ! grep -q "$KEY_A" "$tmp/body"'
s=$(assoc --http1.1 "$STATIC" alice)
check "--garbage: associations answer 200 with broken JSON" \
    '[ "$s" = 200 ] && ! json 1 >/dev/null'
s=$(keys --http1.1 "" "val-service-id=msgin5g")
check "--garbage: tokens are still checked" '[ "$s" = 401 ]'
s=$(keys --http1.1 "$STATIC" "val-service-id=msgin5g&val-tgt-ue=$TGT_CAROL")
check "--garbage: unknown users still answer 404" '[ "$s" = 404 ]'
stop "$kpid" "--garbage"

start slow --delay-ms 1000
keys --http2-prior-knowledge "$STATIC" "val-service-id=msgin5g" \
    --max-time 0.3 >/dev/null
rc=$?
check "--delay-ms 1000: a client with a 0.3 s limit times out" \
    '[ "$rc" -eq 28 ]'
s=$(keys --http1.1 "$STATIC" "val-service-id=msgin5g" --max-time 5)
check "--delay-ms 1000: a patient client gets its key" \
    '[ "$s" = 200 -a "$(ki psk)" = "$KEY_A" ]'
stop "$kpid" "--delay-ms"

# ---------------------------------------------------- hostile clients
# raw BYTES: sends BYTES (printf format) on a fresh HTTP/1.1 connection
# and prints the status code of the answer, read until the emulator
# closes ("" when none).
raw() {
    # shellcheck disable=SC2059 # BYTES is a printf format
    printf "$1" | timeout 10 perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]")
            or exit 1;
        local $/; print $s scalar <STDIN>;
        my $a = <$s> // ""; print $a =~ m{^HTTP/1\.1 (\d+)} ? $1 : "";' "$port"
}
start hostile
s=$(raw 'GET /ss-kir\000x HTTP/1.1\r\nHost: a\r\n\r\n')
check "a NUL byte in the request line answers 400" '[ "$s" = 400 ]'
s=$(keys --http1.1 "$STATIC" "val-service-id=msgin5g")
check "the emulator serves on after a NUL byte in a request line" \
    '[ "$s" = 200 ]'
stop "$kpid" "hostile"

# ----------------------------------------------------- records files
# refused NAME WHAT TEXT: a records file holding TEXT (printf format,
# mode 0600) must be refused with exit 2 and WHAT on standard error,
# without the secrets.
refused() {
    # shellcheck disable=SC2059 # TEXT is a printf format
    printf "$3" >"$tmp/$1"
    chmod 600 "$tmp/$1"
    run_as "records file $1" 2 '' "$KM" --listen 127.0.0.1:0 \
        --records "$tmp/$1"
    has "$err" "$tmp/$2"
    empty_out
}
refused unknown unknown:3: "token $STATIC\n\nkeys msgin5g a 3GPP-SEAL:a $KEY_A 60\n"
refused fields fields:1: "client km-client\n"
refused hex hex:2: "# keys\nkey msgin5g a 3GPP-SEAL:a ${KEY_A}zz 60\n"
refused short short:1: "key msgin5g a 3GPP-SEAL:a 00112233 60\n"
refused user user:1: "key msgin5g a#1 3GPP-SEAL:a $KEY_A 60\n"
refused life life:1: "key msgin5g a 3GPP-SEAL:a $KEY_A soon\n"
refused token token:2: "token $STATIC\ntoken bad\"token\n"
refused dup dup:3: "assoc alice ue1\n#\nassoc alice ue2\n"
refused list list:1: "assoc alice ue1,,ue2\n"
refused client client:2: "client a $SECRET\nclient a other\n"

cp "$tmp/records" "$tmp/open"
chmod 640 "$tmp/open"
run_as "a records file group may read" 2 '' "$KM" --listen 127.0.0.1:0 \
    --records "$tmp/open"
has "$err" "$tmp/open: group or others may read or write it (mode 0640)"
chmod 602 "$tmp/open"
run_as "a records file others may write" 2 '' "$KM" --listen 127.0.0.1:0 \
    --records "$tmp/open"
run_as "a missing records file" 2 '' "$KM" --listen 127.0.0.1:0 \
    --records "$tmp/none"
has "$err" "$tmp/none: No such file or directory"
run_as "no --records" 2 '' "$KM" --listen 127.0.0.1:0
has "$err" "--records FILE is required"

# ------------------------------------------------------- command line
run_as "--help" 0 '' "$KM" --help
has "$out" "--token-lifetime"
run_as "a bad --token-lifetime" 2 '' "$KM" --listen 127.0.0.1:0 \
    --records "$tmp/records" --token-lifetime 0
run_as "a bad --fail-status" 2 '' "$KM" --listen 127.0.0.1:0 \
    --records "$tmp/records" --fail-status 200
run_as "a bad --listen address" 1 '' "$KM" --listen 127.0.0.1:notaport \
    --records "$tmp/records"

finish
