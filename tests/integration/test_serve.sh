#!/bin/sh
# test_serve.sh - the diagnostic pair end to end on loopback: msgsec serve
# and msgsec connect with the testpsk providers (explicit and implicit
# negotiation, message and stream framing, pending look-ups, concurrent
# clients, refusals) and null, refused unless allow_insecure.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build tree),
# MSGSEC_TEST_PROVIDER_DIR (the test provider modules), MSGSEC_TEST_DATA
# (tests/data in the source tree; the policies are in its serve/).

set -u

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
: "${MSGSEC_TEST_PROVIDER_DIR:?set by make check}"
: "${MSGSEC_TEST_DATA:?set by make check}"

MSGSEC=$MSGSEC_TEST_BUILDDIR/tools/msgsec
DATA=$MSGSEC_TEST_DATA/serve
# The secrets of the policies: they must never appear in any output.
SECRET=73657276652074657374207365637265743a206e6f7420666f72207573652121
WRONG=73657276652074657374207365637265743a206e6f7420666f72207573652122
# Look-up time of testpsk2; the clients' timeouts leave a wide margin.
DELAY_MS=400

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init serve
secrets="$SECRET $WRONG"

[ -x "$MSGSEC" ] || abort "$MSGSEC not built"

# policy NAME: tests/data/serve/NAME.conf copied into the private
# directory with mode 0600 (the core refuses group- or world-writable
# policies), @PROVIDER_DIR@ and @DELAY_MS@ substituted; prints its path.
policy() {
    subst "$DATA/$1.conf" "$tmp/$1.conf" \
        PROVIDER_DIR="$MSGSEC_TEST_PROVIDER_DIR" DELAY_MS="$DELAY_MS"
    printf '%s\n' "$tmp/$1.conf"
}

# run WANT INPUT ARG...: runs msgsec ARG... with INPUT (printf format) on
# standard input, keeping stdout and stderr; checks the exit status.
run() {
    rw=$1
    ri=$2
    shift 2
    run_as "msgsec $*" "$rw" "$ri" "$MSGSEC" "$@"
}

# start NAME POLICY SERVICE [ARG...]: starts `msgsec serve` on 127.0.0.1
# port 0 in the background; its output goes to $tmp/NAME.out and .err,
# its PID into $spid (and the cleanup list), its port into $port.
start() {
    serve_start "$@"
    port=$sport
}

server=$(policy server)
client=$(policy client)
wrong=$(policy wrong-secret)

# ------------------------------------------------ help and usage errors

for c in serve connect; do
    run 0 "" "$c" --help
    has "$out" "Usage: msgsec $c"
    has "$out" "Exit status:"
    run 0 "" help "$c"
    has "$out" "Usage: msgsec $c"
done
run 0 "" --help
has "$out" "  serve "
has "$out" "  connect "

run 2 "" serve -c "$server" --listen 127.0.0.1:0
has "$err" "--service NAME is required"
run 2 "" serve -c "$server" --service explicit
has "$err" "--listen HOST:PORT is required"
run 2 "" serve -c "$server" --service explicit --listen 127.0.0.1
has "$err" "expected HOST:PORT"
run 2 "" serve -c "$server" --service explicit --listen 127.0.0.1:99999
has "$err" "a number from 0 to 65535"
run 2 "" serve -c "$server" --service explicit --listen 127.0.0.1:0 \
    --framing datagram
has "$err" "message or stream"
run 2 "" serve -c "$server" --service explicit --listen 127.0.0.1:0 \
    --max-conns 0
run 2 "" serve -c "$server" --service nosuch --listen 127.0.0.1:0
has "$err" "no [service.nosuch] in the policy"
has "$err" "services in this policy: explicit, implicit, delayed"
empty_out
run 2 "" connect -c "$client" --service explicit
has "$err" "--connect HOST:PORT is required"
run 2 "" connect -c "$client" --service explicit --connect 127.0.0.1:1 \
    --timeout soon
has "$err" "--timeout 'soon'"
run 2 "" connect -c "$client" --service explicit --connect 127.0.0.1:1 \
    --identity ""
run 2 "" connect -c "$client" --service explicit --connect 127.0.0.1:1 extra
has "$err" "unexpected argument 'extra'"
run 4 "" serve -c "$tmp/no-such.conf" --service explicit --listen 127.0.0.1:0
run 4 "" connect -c "$tmp/no-such.conf" --service explicit --connect 127.0.0.1:1

# A mandatory provider that does not load: neither command starts.
mfail=$(policy mandatory-fail)
run 3 "" serve -c "$mfail" --service explicit --listen 127.0.0.1:0
has "$err" "mandatory provider failinit did not load"
empty_out
run 3 "x\n" connect -c "$mfail" --service explicit --connect 127.0.0.1:1
has "$err" "mandatory provider failinit did not load"
lacks "$err" "Connection refused"

# Nothing listens on port 1: a connect error is an I/O error (4), not a
# provider problem.
run 4 "x\n" connect -c "$client" --service explicit --connect 127.0.0.1:1
has "$err" "failed: MSGSEC_ERR_IO: connect to 127.0.0.1:1: Connection refused"
empty_out

# ------------------------------------ explicit negotiation, message framing

start explicit "$server" explicit
ep=$spid
eport=$port
run 0 "hello\nsecond message\n\nno newline at the end" \
    connect -c "$client" --service explicit --connect "127.0.0.1:$eport"
same "$out" "testpsk alice: hello\ntestpsk alice: second message\ntestpsk alice: \ntestpsk alice: no newline at the end\n"
has "$err" "established scheme=testpsk identity=test-server"
lacks "$err" "failed"
wait_for "$tmp/explicit.out" "scheme=testpsk identity=alice"
if grep -q -E '^established 127\.0\.0\.1:[0-9]+ scheme=testpsk identity=alice$' \
    "$tmp/explicit.out"; then
    ok "server reports the peer address and the authenticated client"
else
    bad "server line 'established 127.0.0.1:PORT scheme=testpsk identity=alice' missing"
fi
wait_for "$tmp/explicit.out" "closed 127.0.0.1:"

# The client names the server it targets; --identity chooses its own.
run 0 "ping\n" connect -c "$client" --service explicit \
    --connect "127.0.0.1:$eport" --peer-name msgin5g.example --identity bob
same "$out" "testpsk bob: ping\n"
has "$err" "established scheme=testpsk identity=msgin5g.example"
wait_for "$tmp/explicit.out" "scheme=testpsk identity=bob"

# No input: the session is established and closed, nothing printed.
run 0 "" connect -c "$client" --service explicit --connect "127.0.0.1:$eport"
empty_out
has "$err" "established scheme=testpsk"

# A line too long for the tools is refused before it is sent.
long=$(head -c 70000 /dev/zero | tr '\0' 'x')
run 4 "$long\n" connect -c "$client" --service explicit \
    --connect "127.0.0.1:$eport"
has "$err" "failed: MSGSEC_ERR_MESSAGE_TOO_LARGE: input line 1 is longer than 65536 bytes"

# A wrong secret fails while a good client on the same server goes on: the
# good one is connected (first answer in) before the bad one starts and
# sends its second line after the bad one has failed.
fifo_open good 3 "$MSGSEC" connect -c "$client" --service explicit \
    --connect "127.0.0.1:$eport" --identity bob
gpid=$bgpid
feed 3 "before"
wait_for "$tmp/good.out" "testpsk bob: before"
run 3 "x\n" connect -c "$wrong" --service explicit --connect "127.0.0.1:$eport"
has "$err" "failed: MSGSEC_ERR_AUTH_FAILED: provider testpsk: server did not prove the shared secret"
empty_out
lacks "$err" "established"
wait_for "$tmp/explicit.out" "MSGSEC_ERR_PEER_REJECTED: the peer rejected the session: MSGSEC_ERR_AUTH_FAILED"
feed 3 "after"
fifo_close good 3 "$gpid"
same "$tmp/good.out" "testpsk bob: before\ntestpsk bob: after\n"

stop "$ep" "server explicit"
clean "$tmp/explicit.out" "$tmp/explicit.err"
if grep -q -E '^failed 127\.0\.0\.1:[0-9]+: ' "$tmp/explicit.out"; then
    n=$(grep -c '^failed ' "$tmp/explicit.out")
    if [ "$n" -eq 1 ]; then
        ok "server reported exactly one failure"
    else
        bad "server reported $n failures, expected 1"
    fi
else
    bad "server reported no failure"
fi

# ------------------------------------------ implicit negotiation, stream

start implicit "$server" implicit --framing stream
ip=$spid
iport=$port
run 0 "one\ntwo words\nthree" connect -c "$client" --service implicit \
    --connect "127.0.0.1:$iport" --framing stream
same "$out" "testpsk alice: one\ntestpsk alice: two words\ntestpsk alice: three\n"
has "$err" "established scheme=testpsk identity=test-server"
wait_for "$tmp/implicit.out" "scheme=testpsk identity=alice"

# Implicit mode has no ERROR frame: the client that cannot verify the
# server just leaves, and the server says so.
run 3 "x\n" connect -c "$wrong" --service implicit \
    --connect "127.0.0.1:$iport" --framing stream
has "$err" "failed: MSGSEC_ERR_AUTH_FAILED: provider testpsk: server did not prove the shared secret"
wait_for "$tmp/implicit.out" "MSGSEC_ERR_PEER_REJECTED: the peer closed the connection during the handshake (provider testpsk)"

# Stream and message framing do not mix: the client waits in vain.
run 4 "x\n" connect -c "$client" --service implicit \
    --connect "127.0.0.1:$iport" --framing message --timeout 1000
has "$err" "failed: MSGSEC_ERR_TIMEOUT: no answer from 127.0.0.1:$iport within 1000 ms"
wait_for "$tmp/implicit.out" ": the peer closed with an unfinished line"
stop "$ip" "server implicit"
clean "$tmp/implicit.out" "$tmp/implicit.err"

# Without --framing both tools follow the policy service's framing.
start lines "$server" lines
lp=$spid
run 0 "alpha\nbeta" connect -c "$client" --service lines \
    --connect "127.0.0.1:$port"
same "$out" "testpsk alice: alpha\ntestpsk alice: beta\n"
stop "$lp" "server lines"
clean "$tmp/lines.out" "$tmp/lines.err"

# Message framing over implicit negotiation works as well.
start implicit-msg "$server" implicit --once
run 0 "m\n" connect -c "$client" --service implicit --connect "127.0.0.1:$port"
same "$out" "testpsk alice: m\n"
await "$spid" 0 "server implicit-msg (--once, after a clean session)"
has "$tmp/implicit-msg.out" "closed 127.0.0.1:"

# --------------------------- pending look-ups, concurrency, known identities

start delayed "$server" delayed
dp=$spid
dport=$port
# Twelve clients at once. Each look-up takes $DELAY_MS; a server that
# blocked on them would answer the last clients only after nine or more
# look-ups, beyond their timeout, so every client passing shows that the
# sessions waited side by side.
n=12
many $n msg "testpsk2 bob" "$MSGSEC" connect -c "$client" --service delayed \
    --connect "127.0.0.1:$dport" --identity bob --timeout $((DELAY_MS * 8))
wait_for "$tmp/delayed.out" "scheme=testpsk2 identity=bob"
cnt=$(grep -c 'scheme=testpsk2 identity=bob$' "$tmp/delayed.out")
if [ "$cnt" -eq $n ]; then ok "server established $n sessions"; else bad "server established $cnt sessions, expected $n"; fi

# An identity the server does not know: refused, with the reason on the
# server and the refusal on the client (explicit: an ERROR frame).
run 3 "x\n" connect -c "$client" --service delayed \
    --connect "127.0.0.1:$dport" --identity mallory
has "$err" "failed: MSGSEC_ERR_PEER_REJECTED: the peer rejected the session: MSGSEC_ERR_AUTH_FAILED"
empty_out
wait_for "$tmp/delayed.out" "MSGSEC_ERR_AUTH_FAILED: provider testpsk2: unknown identity \"mallory\""

# A client that times out while the server's look-up is pending: the
# server's session is freed with its look-up, and says why.
run 4 "x\n" connect -c "$client" --service delayed \
    --connect "127.0.0.1:$dport" --timeout 100
has "$err" "failed: MSGSEC_ERR_TIMEOUT: no answer from 127.0.0.1:$dport within 100 ms (handshake not complete)"
wait_for "$tmp/delayed.out" "MSGSEC_ERR_PEER_REJECTED: the peer closed the connection during the handshake (provider testpsk2)"
stop "$dp" "server delayed"
clean "$tmp/delayed.out" "$tmp/delayed.err"

# Implicit negotiation with a pending look-up: the refusal is the server
# closing the connection.
start delayed-implicit "$server" delayed-implicit
run 0 "hi\n" connect -c "$client" --service delayed-implicit \
    --connect "127.0.0.1:$port"
same "$out" "testpsk2 alice: hi\n"
run 3 "x\n" connect -c "$client" --service delayed-implicit \
    --connect "127.0.0.1:$port" --identity mallory
has "$err" "failed: MSGSEC_ERR_PEER_REJECTED: the server closed the connection during the handshake (provider testpsk2)"
wait_for "$tmp/delayed-implicit.out" "unknown identity \"mallory\""
stop "$spid" "server delayed-implicit"

# --max-conns 2: five clients at once; the others wait in the listen queue.
start limited "$server" delayed --max-conns 2
lp=$spid
many 5 max-conns-2 "testpsk2 alice" "$MSGSEC" connect -c "$client" \
    --service delayed --connect "127.0.0.1:$port" --timeout 20000
stop "$lp" "server limited"

# ------------------------------------------------------------------ null

# allow_insecure is not set for [service.strict]: null is refused.
start strict "$server" strict
run 3 "x\n" connect -c "$client" --service lab --connect "127.0.0.1:$port" \
    --identity lab-ue
has "$err" "failed: MSGSEC_ERR_PEER_REJECTED: the peer rejected the session: MSGSEC_ERR_NO_COMMON_PROVIDER"
empty_out
wait_for "$tmp/strict.out" "MSGSEC_ERR_NO_COMMON_PROVIDER: no common provider with the client"
has "$tmp/strict.out" "insecure and allow_insecure is not set"
stop "$spid" "server strict"

start lab "$server" lab
run 0 "in clear\n" connect -c "$client" --service lab \
    --connect "127.0.0.1:$port" --identity lab-ue
same "$out" "null lab-ue: in clear\n"
has "$err" "established scheme=null identity=anonymous"
wait_for "$tmp/lab.out" "scheme=null identity=lab-ue"
stop "$spid" "server lab"

# --------------------------------------------------- --once and SIGTERM

start once-fail "$server" explicit --once
run 3 "x\n" connect -c "$wrong" --service explicit --connect "127.0.0.1:$port"
await "$spid" 3 "server once-fail (--once, after a failed session)"

# SIGTERM with a session open: closed cleanly, and the client hears it.
start term "$server" explicit
tp=$spid
fifo_open term-client 4 "$MSGSEC" connect -c "$client" --service explicit \
    --connect "127.0.0.1:$port"
tc=$bgpid
feed 4 "first"
wait_for "$tmp/term-client.out" "testpsk alice: first"
stop "$tp" "server term"
wait_for "$tmp/term.out" "closed 127.0.0.1:"
has "$tmp/term.out" ": server shutting down"
fifo_close term-client 4 "$tc" 4
has "$tmp/term-client.err" "failed: MSGSEC_ERR_CLOSED: the server closed the session with 1 of 1 answers in"
clean "$tmp/term.out" "$tmp/term.err"

# SIGINT does the same as SIGTERM, also in a background job (which the
# shell starts with SIGINT ignored).
start int "$server" explicit
stop "$spid" "server int" INT

# The address is taken: an I/O error at startup.
start busy "$server" explicit
run 4 "" serve -c "$server" --service explicit --listen "127.0.0.1:$port"
has "$err" "cannot listen on 127.0.0.1:$port"
stop "$spid" "server busy"

finish
