#!/bin/sh
# test_cli.sh - the msgsec operator tool, end to end: check, providers,
# explain, help, version and the exit codes documented in msgsec(1).
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build tree),
# MSGSEC_TEST_PROVIDER_DIR (the test provider modules), MSGSEC_TEST_DATA
# (tests/data in the source tree; the policies are in its cli/).

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
: "${MSGSEC_TEST_PROVIDER_DIR:?set by make check}"
: "${MSGSEC_TEST_DATA:?set by make check}"

MSGSEC=$MSGSEC_TEST_BUILDDIR/tools/msgsec
DATA=$MSGSEC_TEST_DATA/cli
# The test secret of the policies: it must never appear in any output.
SECRET=6d736773656320636c6920746573743a206e6f742061207265616c206b657921

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init cli
secrets=$SECRET

[ -x "$MSGSEC" ] || abort "$MSGSEC not built"

# policy NAME [SEAL_CLIENT]: copies tests/data/cli/NAME.conf into the
# private directory with mode 0600 (the core refuses group- or
# world-writable policies), substituting @PROVIDER_DIR@ and @SEAL_CLIENT@;
# prints the path of the copy.
policy() {
    dst=$tmp/$1${2:+-$2}.conf
    subst "$DATA/$1.conf" "$dst" PROVIDER_DIR="$MSGSEC_TEST_PROVIDER_DIR" \
        SEAL_CLIENT="${2:-no}"
    printf '%s\n' "$dst"
}

# run WANT ARG...: runs msgsec ARG..., keeping stdout and stderr, and
# checks that it exits with status WANT and that neither output has the
# policy's secret or a sanitizer report.
run() {
    want=$1
    shift
    run_as "msgsec $*" "$want" "" "$MSGSEC" "$@"
}

# lines FILE N: FILE has exactly N lines.
lines() {
    n=$(wc -l <"$1")
    if [ "$n" -eq "$2" ]; then
        ok "$(basename "$1") has $2 lines"
    else
        bad "$(basename "$1") has $n lines, expected $2"
    fi
}

# block NAME: the "provider NAME" block of the last `providers` output
# (up to its blank line) into $blk.
blk=$tmp/block
block() {
    awk -v want="provider $1" '
        $0 == want { on = 1 }
        on && $0 == "" { exit }
        on { print }' "$out" >"$blk"
    if [ -s "$blk" ]; then
        ok "provider $1 is listed"
    else
        bad "provider $1 is not listed"
    fi
}

# ------------------------------------------------------- help, version

run 0 --help
has "$out" "Usage: msgsec"
for c in providers check explain; do
    has "$out" "  $c"
done
run 0 -h
has "$out" "Usage: msgsec"

run 0 --version
has "$out" "msgsec "
has "$out" "provider ABI 1."
first=$(head -n 1 "$out")
run 0 -V
has "$out" "$first"

for c in providers check explain; do
    run 0 "$c" --help
    has "$out" "Usage: msgsec $c"
    has "$out" "Exit status:"
    run 0 "$c" --version
    has "$out" "$first"
    run 0 help "$c"
    has "$out" "Usage: msgsec $c"
done
run 0 providers --help
has "$out" "/msgsec.conf)"
run 0 help
has "$out" "Commands:"

# ------------------------------------------------------- usage errors

run 2
has "$err" "missing command"
run 2 frobnicate
has "$err" "unknown command 'frobnicate'"
run 2 help frobnicate
run 2 --frobnicate
run 2 check --frobnicate
has "$err" "unknown option '--frobnicate'"
run 2 check -x
has "$err" "unknown option '-x'"
run 2 check -c
has "$err" "needs an argument"
run 2 check -c ""
run 2 check extra-argument
has "$err" "unexpected argument 'extra-argument'"
run 2 providers --load
has "$err" "unknown option '--load'"
run 2 check --service s
has "$err" "unknown option '--service'"
valid=$(policy valid)
run 2 explain -c "$valid"
has "$err" "--service is required"
run 2 explain -c "$valid" --service ""
run 2 explain -c "$valid" --service explicit --offer ""
run 2 explain -c "$valid" --service explicit --offer "testpsk,,testpsk2"
has "$err" "empty name in --offer"
run 2 explain -c "$valid" --service explicit --offer "testpsk,"

# ---------------------------------------------------------------- check

run 0 check -c "$valid"
has "$out" "$valid: ok"
empty "$err"

# Each class of policy error: FILE:LINE: message on stderr, exit 1.
check_broken() {
    p=$(policy "$1")
    run 1 check -c "$p"
    has "$err" "$p:$2: $3"
    empty "$out"
    lines "$err" 1
}
check_broken broken-syntax 4 'expected "key = value"'
check_broken broken-unknown-key 4 '[core] alow_insecure: unknown key'
check_broken broken-bad-value 4 '[provider.testpsk] support: "sometimes"'
check_broken broken-duplicate 5 '[provider.testpsk]: duplicate section (first at line 2)'
check_broken broken-empty-use 5 '[service.s] use: empty list'
check_broken broken-undeclared 5 '[service.s] use: provider "ghost" is not declared'

# Every problem is reported, in file order.
p=$(policy broken-two)
run 1 check -c "$p"
lines "$err" 2
if head -n 1 "$err" | grep -q -F "$p:3: " && tail -n 1 "$err" | grep -q -F "$p:5: "; then
    ok "problems reported in file order"
else
    bad "problems not reported in file order"
fi

# The commands that build a core refuse an invalid policy the same way.
p=$(policy broken-unknown-key)
run 1 providers -c "$p"
has "$err" "$p:4: "
run 1 explain -c "$p" --service s
run 1 check --load -c "$p"

# File safety: a policy writable by others is refused without reading it.
unsafe=$tmp/unsafe.conf
cp "$valid" "$unsafe"
chmod 666 "$unsafe"
run 1 check -c "$unsafe"
has "$err" "$unsafe: unsafe policy file: writable by"
run 1 providers -c "$unsafe"

# A policy that cannot be read is an I/O error.
run 4 check -c "$tmp/no-such-policy.conf"
has "$err" "$tmp/no-such-policy.conf: cannot open"
run 4 providers -c "$tmp/no-such-policy.conf"

# --load: also load the providers. failinit is optional: a warning only.
run 0 check --load -c "$valid"
has "$out" "$valid: ok"
has "$err" "warning: [provider.failinit]"
has "$err" "optional provider not loaded: MSGSEC_ERR_PROVIDER_INIT"
p=$(policy mandatory-fail)
run 0 check -c "$p"
run 3 check --load -c "$p"
has "$err" "$p:9: error: [provider.failinit]"
has "$err" "mandatory provider not loaded: MSGSEC_ERR_PROVIDER_INIT"
lacks "$out" "ok"
# Valid as written, but a service is left without a usable provider.
p=$(policy empty-at-load)
run 0 check -c "$p"
run 1 check --load -c "$p"
has "$err" "[service.s] has no usable provider"

# ------------------------------------------------------------ providers

run 0 providers -c "$valid"
has "$out" "policy $valid"
has "$out" "seal client: no (seal_client = no at $valid:6)"
block testpsk
has "$blk" "  version       1.0"
has "$blk" "  abi           1.2"
has "$blk" "  capabilities  client, server, mutual-auth, confidentiality"
has "$blk" "  policy        $valid:8"
has "$blk" "  support       mandatory"
has "$blk" "  status        loaded"
block testpsk2
has "$blk" "  support       mandatory-if-seal-client (seal_client = no: optional)"
has "$blk" "  status        loaded"
block failinit
has "$blk" "  support       optional"
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_INIT"
has "$blk" "failinit refuses to start: configured to fail"
lacks "$blk" "[mandatory]"
block null
has "$blk" "  module        (built-in)"
has "$blk" "  policy        (built in, not declared)"
has "$blk" "insecure"
has "$out" "4 providers: 3 loaded, 0 off, 1 failed (0 mandatory)"
empty "$err"

# Every refusal, each with its own status and reason; all optional.
p=$(policy refusals)
run 0 providers -c "$p"
block testpsk
has "$blk" "  status        loaded"
block badmagic
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_BAD_MAGIC"
has "$blk" "descriptor magic"
block badabi
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_ABI"
has "$blk" "this core implements ABI 1."
has "$blk" "  abi           -"
block badcrit
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_CRITICAL_CAP"
block failinit
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_INIT"
has "$blk" "$p:21)"
block failselftest
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_SELF_TEST"
has "$blk" "known-answer test"
block absent
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_NOT_FOUND"
has "$blk" "$MSGSEC_TEST_PROVIDER_DIR/absent.la"
block pinned
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_PIN"
has "$blk" "does not match its pin"
block testpsk2
has "$blk" "  support       off"
has "$blk" "  status        off"
has "$out" "10 providers: 2 loaded, 1 off, 7 failed (0 mandatory)"

# A mandatory provider that fails: the listing still comes, exit 3.
p=$(policy mandatory-fail)
run 3 providers -c "$p"
block failinit
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_INIT (provider initialisation failed) [mandatory]"
block testpsk
has "$blk" "  status        loaded"
has "$out" "1 failed (1 mandatory)"
has "$err" "$p:9: mandatory provider failinit did not load"

# The conditional support level: the same broken provider is fatal only
# when the UE has a SEAL client.
p=$(policy conditional no)
run 0 providers -c "$p"
block testpsk2
has "$blk" "  support       mandatory-if-seal-client (seal_client = no: optional)"
has "$blk" "  status        not loaded: MSGSEC_ERR_PROVIDER_INIT"
lacks "$blk" "[mandatory]"
p=$(policy conditional yes)
run 3 providers -c "$p"
has "$out" "seal client: yes (seal_client = yes at $p:5)"
block testpsk2
has "$blk" "  support       mandatory-if-seal-client (seal_client = yes: mandatory)"
has "$blk" "[mandatory]"
has "$err" "mandatory provider testpsk2 did not load"
run 3 check --load -c "$p"

p=$(policy empty-at-load)
run 1 providers -c "$p"
has "$err" "[service.s] has no usable provider"

# Writing the listing fails: I/O error.
if [ -w /dev/full ]; then
    last="msgsec providers -c $valid >/dev/full"
    "$MSGSEC" providers -c "$valid" >/dev/full 2>"$err"
    got=$?
    : >"$out"
    if [ "$got" -eq 4 ]; then
        ok "$last: exit 4"
    else
        bad "$last: exit $got, expected 4"
    fi
    has "$err" "error writing to standard output"
fi

# -------------------------------------------------------------- explain

# Explicit negotiation: the server's policy order wins over the client's.
run 0 explain -c "$valid" --service explicit --offer testpsk2,testpsk
has "$out" "client offer: testpsk2, testpsk"
has "$out" "negotiation explicit"
has "$out" "testpsk          SELECTED"
has "$out" "testpsk2         not chosen the policy prefers testpsk"
has "$out" "failinit         rejected   not loaded"
if [ "$(tail -n 1 "$out")" = "selected: testpsk" ]; then
    ok "last line names the selected provider"
else
    bad "last line is not 'selected: testpsk'"
fi
has "$out" "authorize: none (no authorize key in [service.explicit]: no authorization required)"
has "$out" "seal client: no (seal_client = no at $valid:6)"

run 0 explain -c "$valid" -s explicit -o testpsk2
has "$out" "testpsk          not chosen not offered by the client"
has "$out" "selected: testpsk2"
# Repeated --offer options are joined; spaces around names are ignored.
run 0 explain -c "$valid" -s explicit -o " failinit " -o "testpsk2"
has "$out" "client offer: failinit, testpsk2"
has "$out" "selected: testpsk2"

# No provider in common: exit 3, and why each was rejected.
run 3 explain -c "$valid" --service explicit --offer failinit,ghost
has "$out" "failinit         rejected   not loaded"
has "$out" "ghost            rejected   not in the use list of [service.explicit]"
has "$out" "selected: none (no acceptable provider in common)"
run 3 explain -c "$valid" --service lab --offer null
has "$out" "null             rejected   insecure and allow_insecure is not set"
has "$out" "selected: none"

# Implicit mode without an offer: the claim order.
run 0 explain -c "$valid" --service implicit
has "$out" "client offer: none (implicit mode: claim order)"
has "$out" "testpsk2         SELECTED"
has "$out" "testpsk          next"
has "$out" "selected: testpsk2"

# An unknown service is a usage error that lists the policy's services.
run 2 explain -c "$valid" --service nosuch
has "$err" "no [service.nosuch] in the policy"
has "$err" "services in this policy: explicit, implicit, lab"
empty "$out"

# A core missing a mandatory provider would refuse every session.
p=$(policy mandatory-fail)
run 3 explain -c "$p" --service s --offer testpsk
has "$out" "selected: testpsk"
has "$err" "mandatory provider failinit did not load"

# ------------------------------------- seal client (auto) and authorize

# inline NAME: standard input to NAME.conf in the private directory, mode
# 0600, @PROVIDER_DIR@ substituted; prints the path.
inline() {
    cat >"$tmp/$1.in"
    subst "$tmp/$1.in" "$tmp/$1.conf" PROVIDER_DIR="$MSGSEC_TEST_PROVIDER_DIR"
    printf '%s\n' "$tmp/$1.conf"
}

# seal_client left to auto: an optional section naming a key-management
# server makes the UE a SEAL client (line 9), even though it does not load.
p=$(inline seal-auto <<EOF
[core]
provider_dir = @PROVIDER_DIR@
[provider.testpsk]
secret = $SECRET
authz_map = "alice=ue1"
[provider.ghost]
support = optional
module = ghost-not-installed
km_uri = http://127.0.0.1:1
[provider.testpsk2]
support = mandatory-if-seal-client
secret = $SECRET
[service.s]
use = testpsk
authorize = testpsk
EOF
)
run 0 providers -c "$p"
has "$out" "seal client: yes (seal_client = auto (the default), and [provider.ghost] sets km_uri at $p:9)"
block testpsk2
has "$blk" "  support       mandatory-if-seal-client (seal_client = yes: mandatory)"
has "$blk" "  status        loaded"
run 0 explain -c "$p" --service s
has "$out" "authorize: testpsk (answers whether a client's UE service ID is associated with its identity)"
has "$out" "seal client: yes (seal_client = auto (the default), and [provider.ghost] sets km_uri"
if [ "$(tail -n 1 "$out")" = "selected: testpsk" ]; then
    ok "explain: the selection still comes last"
else
    bad "explain: last line is not 'selected: testpsk'"
fi

# auto without any SEAL key: no SEAL client.
p=$(inline seal-none <<EOF
[core]
provider_dir = @PROVIDER_DIR@
[provider.testpsk]
secret = $SECRET
[service.s]
use = testpsk
EOF
)
run 0 providers -c "$p"
has "$out" "seal client: no (seal_client = auto (the default), and no [provider.*] section that is not off sets km_uri or val_user_id)"

# authorize naming a provider without the operation (testpsk0 is built
# against ABI 1.0): the policy reads fine, the core refuses it (line 9).
p=$(inline authz-noop <<EOF
[core]
provider_dir = @PROVIDER_DIR@
[provider.testpsk0]
secret = $SECRET
[provider.testpsk]
secret = $SECRET
[service.s]
use = testpsk
authorize = testpsk0
EOF
)
run 0 check -c "$p"
run 1 check --load -c "$p"
has "$err" "$p:9: [service.s] authorize: provider testpsk0 does not implement authorize (provider ABI 1.0"
run 1 providers -c "$p"
has "$err" "$p:9: [service.s] authorize: provider testpsk0 does not implement authorize"
run 1 explain -c "$p" --service s
has "$out" "authorize: testpsk0"
# authorize naming an undeclared provider: a policy error with its line.
p=$(inline authz-ghost <<EOF
[provider.testpsk]
[service.s]
use = testpsk
authorize = ghost
EOF
)
run 1 check -c "$p"
has "$err" "$p:4: [service.s] authorize: provider \"ghost\" is not declared"

# -v shows the library's log; without it only the command's own report.
run 0 providers -v -c "$valid"
has "$err" "msgsec: warning: provider failinit not loaded"
run 0 providers -c "$valid"
empty "$err"

# ---------------------------------------------------------- akma derive
# DOMAIN.md's known answers (K_AUSF 00..1f, SUPI 001010000000001).
KAUSF=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K_AKMA=bba5e95f1205d4f1c217b91e08ec3509ad62cfbf43f474c6bf495da83132c95e
A_TID=67d8dee47b7d74e6f457b7b23d5806746ed87b920aa8035f37b494c1bfc5d83b
K_AF=23bef238a002c758f42845fe1422dde4a9f287016074128f5c5101bcb28b9adb
REALM=5gc.mnc001.mcc001.3gppnetwork.org

run 0 akma derive --kausf "$KAUSF" --supi 001010000000001 --rid 0 \
    --mcc 001 --mnc 01 --af-fqdn msgin5g.example.com
if [ "$(cat "$out")" = "K_AKMA=$K_AKMA
A-TID=$A_TID
A-KID=0.$A_TID@$REALM
K_AF=$K_AF" ]; then
    ok "akma derive: the four lines of DOMAIN.md, in order"
else
    bad "akma derive: output differs from DOMAIN.md's values"
fi
empty "$err"

# The SBI form of the SUPI gives the same keys; without RID/MCC/MNC and
# AF there is no A-KID and no K_AF.
run 0 akma derive --kausf "$KAUSF" --supi imsi-001010000000001
has "$out" "K_AKMA=$K_AKMA"
has "$out" "A-TID=$A_TID"
lacks "$out" "84edc04f"
lines "$out" 2
# Upper-case hex in, lower-case out; the TLS 1.3 Ua* identifier given
# explicitly is the default.
run 0 akma derive --kausf "$(echo "$KAUSF" | tr a-f A-F)" \
    --supi 001010000000001 --af-fqdn msgin5g.example.com --ua-id 0100000007
has "$out" "K_AF=$K_AF"
lines "$out" 3
# A TLS 1.2 Ua* identifier gives another K_AF.
run 0 akma derive --kausf "$KAUSF" --supi 001010000000001 \
    --af-fqdn msgin5g.example.com --ua-id 01000100A8
has "$out" "K_AKMA=$K_AKMA"
lacks "$out" "$K_AF"
# A-KID settings; a 3-digit MNC is kept as it is.
run 0 akma derive --kausf "$KAUSF" --supi 001010000000001 --rid 1234 \
    --mcc 310 --mnc 260 --akid-separator "" --akid-encoding hex
has "$out" "A-KID=1234$A_TID@5gc.mnc260.mcc310.3gppnetwork.org"
if command -v xxd >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1; then
    b64=$(printf '%s' "$A_TID" | xxd -r -p | base64 | tr '+/' '-_' | tr -d '=')
    run 0 akma derive --kausf "$KAUSF" --supi 001010000000001 --rid 7 \
        --mcc 001 --mnc 01 --akid-separator - --akid-encoding base64url
    has "$out" "A-KID=7-$b64@$REALM"
fi

# Usage errors: exit 2, a message, nothing on standard output.
run 2 akma derive --supi 001010000000001
has "$err" "--kausf is required"
empty "$out"
run 2 akma derive --kausf "${KAUSF}00" --supi 001010000000001
has "$err" "--kausf must be 64 hex digits"
empty "$out"
run 2 akma derive --kausf "$KAUSF" --supi imsi-12
has "$err" "--supi 'imsi-12'"
run 2 akma derive --kausf "$KAUSF" --supi 001010000000001 --rid 0
has "$err" "--rid, --mcc and --mnc go together"
run 2 akma derive --kausf "$KAUSF" --supi 001010000000001 --rid 12345 \
    --mcc 001 --mnc 01
has "$err" "--rid must be 1 to 4 digits"
run 2 akma derive --kausf "$KAUSF" --supi 001010000000001 --rid 1 \
    --mcc 001 --mnc 01 --akid-separator @
has "$err" "--akid-separator"
run 2 akma derive --kausf "$KAUSF" --supi 001010000000001 --ua-id 0100000007
has "$err" "--ua-id needs --af-fqdn"
run 2 akma derive --kausf "$KAUSF" --supi 001010000000001 \
    --af-fqdn "a b.example"
has "$err" "--af-fqdn"
empty "$out"
run 2 akma derive --kausf "$KAUSF" --supi 001010000000001 --bogus
has "$err" "unknown option '--bogus'"
has "$err" "Try 'msgsec akma derive --help'."

# The group: its help, its command list, an unknown command.
run 0 akma --help
has "$out" "derive"
run 0 akma help derive
has "$out" "Usage: msgsec akma derive"
run 0 help akma
has "$out" "Usage: msgsec akma COMMAND"
run 2 akma
has "$err" "missing command"
run 2 akma nosuch
has "$err" "unknown command 'nosuch'"

finish
