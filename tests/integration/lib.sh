# lib.sh - what the integration scripts share, sourced by them:
#     . "$(dirname "$0")/lib.sh"
#     lib_init NAME
#
# Counters and checks (ok, bad, check, has, lacks, same, empty, clean,
# finish), a private temporary directory removed on exit, background
# processes recorded by PID and stopped by PID (never by name) whatever
# happens, servers that announce "listening on 127.0.0.1:PORT", clients
# fed through FIFOs, `msgsec serve` and `msgsec connect` with their checks
# (conn, served, tls_ok, tls_fails, server_failed, many), msgsec-aanf and
# the AUSF's registrations, free loopback ports and policy templates.
#
# Variables: $tmp (the private directory), $out and $err (the last
# command's output), $last (what ran, for failure reports), $secrets
# (space-separated strings that must never appear in an output: keys,
# tokens), $pids (the processes still to stop). A script may redefine
# details() to show something else when a check fails. The programs:
# $MSGSEC (tools/msgsec) and $AANF (tools/msgsec-aanf); the policy
# service of conn and its kin: $SVC.
#
# Conditions of check are single-quoted and evaluated there.
# shellcheck shell=sh disable=SC2016,SC2034

# lib_init NAME: counters, $tmp (mode 0700, files 0600) and the traps.
lib_init() {
    umask 077
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/msgsec-$1.XXXXXX") || exit 1
    chmod 700 "$tmp"
    pids=
    passed=0
    failed=0
    out=$tmp/cmd.out
    err=$tmp/cmd.err
    : >"$out"
    : >"$err"
    last=
    secrets=
    trap lib_cleanup EXIT
    trap 'exit 1' HUP INT TERM
}

# Every process started is stopped by its PID: SIGTERM, then SIGKILL for
# those still there after 5 s.
lib_cleanup() {
    exec 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-
    for _p in $pids; do
        kill "$_p" 2>/dev/null
    done
    for _p in $pids; do
        _w=0
        while kill -0 "$_p" 2>/dev/null && [ $_w -lt 100 ]; do
            sleep 0.05
            _w=$((_w + 1))
        done
        kill -KILL "$_p" 2>/dev/null
        wait "$_p" 2>/dev/null
    done
    rm -rf "$tmp"
}

# ------------------------------------------------------------- checks

ok() {
    passed=$((passed + 1))
    echo "ok - $1"
}

# details: what a failure report shows after its name.
details() {
    echo "  command: $last"
    sed 's/^/  stdout: /' "$out"
    sed 's/^/  stderr: /' "$err"
}

bad() {
    failed=$((failed + 1))
    echo "FAIL - $1"
    details
}

check() { # check NAME CONDITION: passes when the shell condition holds
    if eval "$2"; then ok "$1"; else bad "$1"; fi
}

# finish: the summary line; the script's status is 0 only without failures.
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ] && exit 0
    exit 1
}

# abort WHY: a failure that ends the script at once.
abort() {
    failed=$((failed + 1))
    echo "FAIL: $1"
    finish
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

empty() {
    if [ -s "$1" ]; then
        bad "$(basename "$1") should be empty"
    else
        ok "$(basename "$1") is empty"
    fi
}

empty_out() { empty "$out"; }

# same FILE TEXT: FILE holds exactly TEXT (printf format).
same() {
    # shellcheck disable=SC2059
    printf "$2" >"$tmp/expected"
    same_as "$1" "$tmp/expected"
}

# same_as FILE EXPECTED: FILE holds exactly what the file EXPECTED holds.
same_as() {
    if cmp -s "$2" "$1"; then
        ok "$(basename "$1") is exactly as expected"
    else
        bad "$(basename "$1") differs from the expected text"
        sed 's/^/  expected: /' "$2"
        sed 's/^/  got:      /' "$1"
    fi
}

# clean FILE...: none of $secrets and no sanitizer report in the files.
clean() {
    for _s in $secrets; do
        if grep -q -i -F -e "$_s" "$@"; then
            bad "$last: secret material in the output"
            grep -l -i -F -e "$_s" "$@" | sed 's/^/  in: /'
            break
        fi
    done
    if grep -q -e "Sanitizer" -e "runtime error:" "$@"; then
        bad "$last: sanitizer report"
    fi
}

# clean_all: clean on every output file in $tmp.
clean_all() {
    for _f in "$tmp"/*.out "$tmp"/*.err "$tmp"/*.log; do
        [ -f "$_f" ] && clean "$_f"
    done
}

# no_secrets N WHAT: checks every output in $tmp, and that none of the N
# strings of $secrets (WHAT names them) appears in any of them.
no_secrets() {
    last="every output of the test"
    clean_all
    _n=0
    _hits=0
    for _s in $secrets; do
        _n=$((_n + 1))
        if cat "$tmp"/*.out "$tmp"/*.err 2>/dev/null |
            grep -q -i -F -e "$_s"; then
            _hits=$((_hits + 1))
        fi
    done
    _nwant=$1
    check "none of the $_n $2 in any output" \
        '[ "$_n" -eq "$_nwant" ] && [ "$_hits" -eq 0 ]'
}

# wait_for FILE TEXT: waits (up to 10 s) until FILE has TEXT.
wait_for() {
    _i=0
    while [ $_i -lt 200 ]; do
        grep -q -F -e "$2" "$1" && break
        sleep 0.05
        _i=$((_i + 1))
    done
    has "$1" "$2"
}

# wait_count FILE REGEX N: waits (up to 10 s) until FILE has N lines
# matching REGEX (basic); the count in $count.
wait_count() {
    _i=0
    while [ $_i -lt 200 ]; do
        count=$(grep -c -e "$2" "$1")
        [ "$count" -ge "$3" ] && break
        sleep 0.05
        _i=$((_i + 1))
    done
}

# ----------------------------------------------------------- processes

# spawn NAME CMD [ARG...]: runs CMD in the background, standard output in
# $tmp/NAME.out, standard error in $tmp/NAME.err; its PID in $bgpid and
# the cleanup list.
spawn() {
    _n=$1
    shift
    : >"$tmp/$_n.out"
    : >"$tmp/$_n.err"
    "$@" >"$tmp/$_n.out" 2>"$tmp/$_n.err" &
    bgpid=$!
    pids="$pids $bgpid"
}

# forget PID: a process that has been waited for leaves the cleanup list
# (its PID may be reused).
forget() {
    _rest=
    for _p in $pids; do
        [ "$_p" = "$1" ] || _rest="$_rest $_p"
    done
    pids=$_rest
}

# await PID WANT WHAT: checks that the process exits within 10 s (else it
# is killed) with status WANT; its status in $got.
await() {
    _w=0
    while kill -0 "$1" 2>/dev/null && [ $_w -lt 200 ]; do
        sleep 0.05
        _w=$((_w + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        bad "$3: still runs after 10 s"
        kill -KILL "$1" 2>/dev/null
    fi
    wait "$1"
    got=$?
    forget "$1"
    if [ "$got" -eq "$2" ]; then
        ok "$3: exit $2"
    else
        bad "$3: exit $got, expected $2"
    fi
}

# stop PID WHAT [SIGNAL]: SIGTERM (or SIGNAL) must end the process within
# 10 s with status 0.
stop() {
    _sig=${3:-TERM}
    kill -"$_sig" "$1" 2>/dev/null
    await "$1" 0 "$2 after SIG$_sig"
}

# wait_port FILE PID: waits (up to 10 s, while PID lives) for the line
# "listening on 127.0.0.1:PORT" in FILE; PORT in $port. Returns 1 when
# none came.
wait_port() {
    _i=0
    while :; do
        port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' \
            "$1" | head -n 1)
        [ -n "$port" ] && return 0
        [ $_i -lt 200 ] && kill -0 "$2" 2>/dev/null || return 1
        sleep 0.05
        _i=$((_i + 1))
    done
}

# listener NAME WHAT CMD [ARG...]: spawn NAME CMD..., then wait_port on its
# standard output; a check "WHAT listens on 127.0.0.1:PORT". PID in
# $bgpid, port in $port. Returns 1 when it did not start.
listener() {
    _ln=$1
    _lw=$2
    shift 2
    spawn "$_ln" "$@"
    last="$*"
    if wait_port "$tmp/$_ln.out" "$bgpid"; then
        ok "$_lw listens on 127.0.0.1:$port"
        return 0
    fi
    bad "$_lw did not report its port"
    sed 's/^/  output: /' "$tmp/$_ln.out" "$tmp/$_ln.err"
    return 1
}

# fifo_open NAME FD CMD [ARG...]: runs CMD in the background reading the
# FIFO $tmp/NAME.fifo, which descriptor FD (3 to 9) writes; output in
# $tmp/NAME.out and .err, PID in $bgpid.
fifo_open() {
    _fn=$1
    _fd=$2
    shift 2
    rm -f "$tmp/$_fn.fifo"
    mkfifo "$tmp/$_fn.fifo"
    : >"$tmp/$_fn.out"
    : >"$tmp/$_fn.err"
    "$@" <"$tmp/$_fn.fifo" >"$tmp/$_fn.out" 2>"$tmp/$_fn.err" &
    bgpid=$!
    pids="$pids $bgpid"
    eval "exec $_fd>\"\$tmp/\$_fn.fifo\""
}

# fifo_close NAME FD PID [WANT]: closes descriptor FD (the end of input);
# the process must exit with status WANT (default 0); its outputs clean.
fifo_close() {
    eval "exec $2>&-"
    last="$1"
    await "$3" "${4:-0}" "$1"
    clean "$tmp/$1.out" "$tmp/$1.err"
}

# feed FD LINE: writes LINE to a process's FIFO without the test dying of
# SIGPIPE when the process is gone.
feed() {
    (
        trap '' PIPE
        printf '%s\n' "$2" >&"$1"
    ) 2>/dev/null
}

# run_as LABEL WANT INPUT CMD [ARG...]: runs CMD with INPUT (printf
# format) on standard input, output in $out and $err; checks the exit
# status (in $got) and that the output is clean.
run_as() {
    last=$1
    _want=$2
    _input=$3
    shift 3
    # shellcheck disable=SC2059
    printf "$_input" | "$@" >"$out" 2>"$err"
    got=$?
    if [ "$got" -eq "$_want" ]; then
        ok "$last: exit $_want"
    else
        bad "$last: exit $got, expected $_want"
    fi
    clean "$out" "$err"
}

# serve_start NAME POLICY SERVICE [ARG...]: `$MSGSEC serve` on 127.0.0.1
# port 0; output in $tmp/NAME.out and .err, PID in $spid, port in $sport
# (1 when it did not report one, so that clients fail rather than hang).
serve_start() {
    _sn=$1
    _spol=$2
    _ssvc=$3
    shift 3
    if listener "$_sn" "server $_sn" "$MSGSEC" serve -c "$_spol" \
        --service "$_ssvc" --listen 127.0.0.1:0 "$@"; then
        sport=$port
    else
        sport=1
    fi
    spid=$bgpid
}

# established FILE PEER WHAT: after a conn, the client reported its
# session (PEER's scheme) established and no failure, and the `msgsec
# serve` output FILE comes to have the line "established 127.0.0.1:PORT
# PEER expiry=<ISO 8601 UTC>" (PEER: the scheme, identity and other
# fields, as they are printed).
established() {
    has "$err" "established ${2%% *}"
    lacks "$err" "failed"
    wait_for "$1" "$2 expiry="
    _re=$(printf '%s' "$2" | sed 's/[].[\\*^$+?(){}|]/\\&/g')
    if grep -q -E "^established 127\.0\.0\.1:[0-9]+ $_re expiry=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\$" "$1"; then
        ok "server reports $3 and an ISO 8601 expiry"
    else
        bad "server's established line for $3 is not as expected"
        sed 's/^/  server: /' "$1"
    fi
}

# failed_lines FILE: how many connections a `msgsec serve` output FILE
# reports failed.
failed_lines() { grep -c '^failed 127\.0\.0\.1:[0-9]*: ' "$1"; }

# server_failed FILE N0 [TEXT]: a `msgsec serve` output FILE comes to
# report one more failed connection than N0 (from failed_lines), and TEXT.
server_failed() {
    _fwant=$(($2 + 1))
    wait_count "$1" '^failed 127\.0\.0\.1:[0-9]*: ' "$_fwant"
    check "the server reported one more failure" '[ "$count" -eq "$_fwant" ]'
    if [ -n "${3:-}" ]; then
        wait_for "$1" "$3"
    fi
}

# conn WANT INPUT PORT POLICY [ARG...]: `msgsec connect -v` to service
# $SVC on 127.0.0.1:PORT with INPUT (printf format) on standard input, as
# run_as (exit status WANT, outputs clean).
conn() {
    _cw=$1
    _ci=$2
    _cport=$3
    _cpol=$4
    shift 4
    run_as "msgsec connect -v -c $(basename "$_cpol") --connect 127.0.0.1:$_cport${*:+ $*}" \
        "$_cw" "$_ci" "$MSGSEC" connect -v -c "$_cpol" --service "$SVC" \
        --connect "127.0.0.1:$_cport" "$@"
}

# served PREFIX LINES PORT POLICY [ARG...]: conn sending LINES (printf
# format, a newline added); it must exit 0 with exactly the server's
# answers "PREFIX: LINE", one a line.
served() {
    _sp=$1
    _sl="$2\n"
    shift 2
    conn 0 "$_sl" "$@"
    # shellcheck disable=SC2059
    printf "$_sl" | awk -v p="$_sp: " '{ print p $0 }' >"$tmp/served"
    same_as "$out" "$tmp/served"
}

# conn_open NAME FD PORT POLICY [ARG...]: a `msgsec connect -v` that stays
# connected, reading its lines from descriptor FD (fifo_open); PID in
# $bgpid. fifo_close NAME FD PID [WANT] ends it.
conn_open() {
    _on=$1
    _ofd=$2
    _oport=$3
    _opol=$4
    shift 4
    fifo_open "$_on" "$_ofd" "$MSGSEC" connect -v -c "$_opol" \
        --service "$SVC" --connect "127.0.0.1:$_oport" "$@"
}

# tls_ok NAME PREFIX CMD [ARG...]: a standard TLS client (openssl
# s_client, gnutls-cli) sends the line "from NAME" and must see the
# server's answer "PREFIX: from NAME", then exit 0 at the end of its
# input; outputs in $tmp/NAME.out and .err.
tls_ok() {
    _tn=$1
    _te=$2
    shift 2
    fifo_open "$_tn" 5 "$@"
    _tp=$bgpid
    feed 5 "from $_tn"
    wait_for "$tmp/$_tn.out" "$_te: from $_tn"
    fifo_close "$_tn" 5 "$_tp"
}

# psk_s_client PORT IDENTITY KEY OPTION...: openssl s_client with a PSK
# to 127.0.0.1:PORT, quiet, ending at the end of its input; OPTION: the
# TLS version (-tls1_3, -tls1_2) and any other. psk_gnutls PORT USER KEY
# PRIORITY: gnutls-cli likewise. Only as the client of tls_ok or
# tls_fails (a background job or a pipeline's end): they replace the
# shell that runs them.
# shellcheck disable=SC2317
psk_s_client() {
    _kp=$1
    _ki=$2
    _kk=$3
    shift 3
    exec openssl s_client "$@" -psk_identity "$_ki" -psk "$_kk" \
        -connect "127.0.0.1:$_kp" -quiet -no_ign_eof
}

# shellcheck disable=SC2317
psk_gnutls() {
    exec gnutls-cli --pskusername "$2" --pskkey "$3" --priority "$4" \
        -p "$1" 127.0.0.1
}

# tls_fails LABEL ANSWER CMD [ARG...]: a standard TLS client whose
# handshake must fail: status not 0, no ANSWER (the start of a server's
# answer, not empty) on its standard output. LABEL names it without its
# key; the outputs in $out and $err.
tls_fails() {
    last=$1
    _ta=$2
    shift 2
    printf 'x\n' | "$@" >"$out" 2>"$err"
    rc=$?
    check "$last fails" '[ "$rc" -ne 0 ]'
    lacks "$out" "$_ta"
    clean "$out" "$err"
}

# many N NAME PREFIX CMD [ARG...]: N copies of CMD at once, copy I with
# the line "NAME I" on standard input (outputs in $tmp/NAME-I.out and
# .err); each must exit 0 with exactly the answer "PREFIX: NAME I".
many() {
    _mn=$1
    _mname=$2
    _mpre=$3
    shift 3
    _mpids=
    _mi=1
    while [ $_mi -le "$_mn" ]; do
        printf '%s %s\n' "$_mname" "$_mi" | "$@" \
            >"$tmp/$_mname-$_mi.out" 2>"$tmp/$_mname-$_mi.err" &
        _mpids="$_mpids $!"
        pids="$pids $!"
        _mi=$((_mi + 1))
    done
    _mi=1
    for _mp in $_mpids; do
        last="$_mname $_mi of $_mn: $*"
        await "$_mp" 0 "$_mname $_mi of $_mn"
        [ "$got" -eq 0 ] || sed 's/^/  stderr: /' "$tmp/$_mname-$_mi.err"
        same "$tmp/$_mname-$_mi.out" "$_mpre: $_mname $_mi\n"
        clean "$tmp/$_mname-$_mi.out" "$tmp/$_mname-$_mi.err"
        _mi=$((_mi + 1))
    done
}

# tls_clients: $have_openssl and $have_gnutls (yes or no); a missing
# client is a failure, not a skip.
tls_clients() {
    have_openssl=yes
    have_gnutls=yes
    if ! command -v openssl >/dev/null 2>&1; then
        have_openssl=no
        last="command -v openssl"
        bad "openssl(1) is not installed (scripts/bootstrap.sh installs it)"
    fi
    if ! command -v gnutls-cli >/dev/null 2>&1; then
        have_gnutls=no
        last="command -v gnutls-cli"
        bad "gnutls-cli(1) is not installed (scripts/bootstrap.sh: gnutls-bin)"
    fi
}

# ---------------------------------------------------------------- AKMA

# aanf_start NAME PORT [OPTION...]: msgsec-aanf ($AANF) on 127.0.0.1:PORT
# (0: any); PID in $apid, port in $aport, its one-line-per-request log in
# $aanf_log ($tmp/NAME.err). Returns 1 when it did not start.
aanf_start() {
    _an=$1
    _ap=$2
    shift 2
    aanf_log=$tmp/$_an.err
    listener "$_an" "AAnF $_an" "$AANF" --listen "127.0.0.1:$_ap" "$@" ||
        return 1
    apid=$bgpid
    aport=$port
}

# register SUPI KAUSF [AKID]: the AUSF registers the UE's K_AKMA with the
# AAnF at $aport (`msgsec akma register`, RID 0, MCC 001, MNC 01): exit 0
# and an A-KID printed (exactly AKID when given), in $akid.
register() {
    last="msgsec akma register --aanf http://127.0.0.1:$aport --kausf <K_AUSF> --supi $1 --rid 0 --mcc 001 --mnc 01"
    "$MSGSEC" akma register --aanf "http://127.0.0.1:$aport" --kausf "$2" \
        --supi "$1" --rid 0 --mcc 001 --mnc 01 >"$out" 2>"$err"
    rc=$?
    akid=$(cat "$out")
    check "the AUSF registers $1 with the AAnF" \
        '[ "$rc" -eq 0 ] && [ -n "$akid" ]'
    if [ -n "${3:-}" ]; then
        _rwant=$3
        check "the A-KID of $1 is the one derived" '[ "$akid" = "$_rwant" ]'
    fi
    clean "$out" "$err"
}

# retrieves LOG AKID: how many retrieve-applicationkey requests for AKID
# the AAnF whose log is LOG has answered (for conditions of check).
retrieves() {
    grep -F ' /naanf-akma/v1/retrieve-applicationkey -> ' "$1" |
        grep -c -F -e "aKId=$2 "
}

# ------------------------------------------------------------- ports

# free_port: a loopback port free a moment ago (bound to 0 and released),
# in $fport; empty when none could be had.
free_port() {
    fport=$(perl -MIO::Socket::INET -e \
        'my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1:0",
             Proto => "tcp", Listen => 1, ReuseAddr => 1) or exit 1;
         print $s->sockport, "\n";' 2>/dev/null)
}

# on_free_port NAME READY CMD [ARG...]: for a server that cannot report
# an ephemeral port: runs CMD (as spawn NAME) with @PORT@ in its
# arguments replaced by a free port, until a line of $tmp/NAME.out or
# $tmp/NAME.err begins with READY (up to 10 s each), trying another port
# when someone else took it first (5 tries). PID in $bgpid, port in
# $fport; returns 1 when it did not start.
on_free_port() {
    _on=$1
    _ready=$2
    shift 2
    _tries=0
    while [ $_tries -lt 5 ]; do
        _tries=$((_tries + 1))
        free_port
        [ -n "$fport" ] || return 1
        _spawn_at "$_on" "$fport" "$@"
        _i=0
        while [ $_i -lt 200 ]; do
            grep -q -e "^$_ready" "$tmp/$_on.out" "$tmp/$_on.err" && return 0
            kill -0 "$bgpid" 2>/dev/null || break
            sleep 0.05
            _i=$((_i + 1))
        done
        kill "$bgpid" 2>/dev/null
        wait "$bgpid" 2>/dev/null
        forget "$bgpid"
    done
    return 1
}

# _spawn_at NAME PORT CMD [ARG...]: spawn with @PORT@ replaced by PORT.
_spawn_at() {
    _sa=$1
    _sp=$2
    shift 2
    for _a; do
        shift
        set -- "$@" "$(printf '%s\n' "$_a" | sed "s/@PORT@/$_sp/g")"
    done
    spawn "$_sa" "$@"
}

# ------------------------------------------------------------ policies

# subst SRC DST VAR=VALUE...: copies SRC replacing each @VAR@ by VALUE,
# mode 0600 (the core refuses keys in a policy others can read).
subst() {
    _src=$1
    _dst=$2
    shift 2
    cp "$_src" "$_dst.tmp" || exit 1
    for _kv in "$@"; do
        _k=${_kv%%=*}
        _v=$(printf '%s\n' "${_kv#*=}" | sed 's/[\\|&]/\\&/g')
        sed "s|@$_k@|$_v|g" "$_dst.tmp" >"$_dst.new" || exit 1
        mv "$_dst.new" "$_dst.tmp"
    done
    mv "$_dst.tmp" "$_dst"
    chmod 600 "$_dst"
}
