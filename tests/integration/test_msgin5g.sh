#!/bin/sh
# test_msgin5g.sh - msgin5g-server and msgin5g-client on loopback with
# real processes: msgsec-aanf, msgsec-seal-km, the AUSF's registrations.
#
# 1. The demo's scenario (scripts/demo.sh, sourced), each of its
#    expectations a check on the clients' outputs and the server's log,
#    with the server under valgrind (or, in a sanitizer build, under
#    LeakSanitizer): no leak, no error, SIGTERM exits 0.
# 2. On a second server (the same policy, stored messages kept 2 s): a
#    client that disconnects mid-handshake, garbage before the handshake,
#    garbage and an overlong line after it, a client that stalls while
#    others are served, each leaving the server up and others served;
#    `openssl s_client` with the AKMA PSK identity and K_AF registering,
#    sending to a connected msgin5g-client, refused with a forged oriAddr
#    and kept; a stored message that expires (a failed delivery report);
#    the AAnF disappearing (clients with an uncached A-KID fail cleanly,
#    cached ones go on, later ones succeed once it is back); SIGHUP with a
#    changed policy (new connections follow it, an existing one keeps
#    working); SIGTERM exits 0.
# 3. On a server with message framing: each answer is one message ending
#    with LF (the typed lines of `msgsec connect` are taken without theirs).
# 4. On a third server (handshake timeout 1 s, at most 2 stored messages,
#    1 per UE): a client stalled in its handshake and one authenticated but
#    never registered are closed and logged, a registered one is not;
#    messages over a storage cap fail with STORAGE_FULL, delivering stored
#    ones frees room.
#
# Environment (set by `make check`): MSGSEC_TEST_BUILDDIR (the build
# tree). Needs openssl(1), perl and valgrind (scripts/bootstrap.sh installs
# them): without them those checks fail, they are not skipped.
# shellcheck disable=SC2016,SC2034,SC2154

: "${MSGSEC_TEST_BUILDDIR:?set by make check}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
MSGSEC_DEMO_LIB=1
. "$here/../../scripts/demo.sh"
lib_init msgin5g
demo_paths "$(cd "$here/../.." && pwd)" "$MSGSEC_TEST_BUILDDIR"
missing=$(demo_missing)
[ -z "$missing" ] || abort "not built:$missing"
# The demo's narration is not wanted here; its checks are.
act() { echo "# $*"; }
say() { :; }

# ------------------------------------ 0. usage: no core, no loop, no crash

act "msgin5g-server --help and an unknown option"
"$MSERVER" --help >"$tmp/usage.out" 2>"$tmp/usage.err"
rc=$?
last="msgin5g-server --help"
check "--help exits 0" '[ "$rc" -eq 0 ]'
has "$tmp/usage.out" "Usage: msgin5g-server"
clean "$tmp/usage.out" "$tmp/usage.err"
"$MSERVER" --no-such-option >"$tmp/usage.out" 2>"$tmp/usage.err"
rc=$?
last="msgin5g-server --no-such-option"
check "an unknown option is a usage error (exit 2), not a crash" \
    '[ "$rc" -eq 2 ]'
has "$tmp/usage.err" "msgin5g-server --help"
clean "$tmp/usage.out" "$tmp/usage.err"
"$MSERVER" --listen 127.0.0.1:0 >"$tmp/usage.out" 2>"$tmp/usage.err"
rc=$?
last="msgin5g-server without --policy"
check "a missing --policy is a usage error (exit 2)" '[ "$rc" -eq 2 ]'
clean "$tmp/usage.out" "$tmp/usage.err"

# ----------------------------------------- 1. the demo, checked for leaks

# An ASan build has LeakSanitizer in the server itself; otherwise valgrind.
asan=no
grep -q -e '^CFLAGS = .*-fsanitize=address' "$BUILD/Makefile" && asan=yes
if [ $asan = no ]; then
    if command -v valgrind >/dev/null 2>&1; then
        MSGSEC_SERVER_WRAPPER="$BUILD/libtool --mode=execute valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 --log-file=$tmp/valgrind.log"
    else
        last="command -v valgrind"
        bad "valgrind is not installed (scripts/bootstrap.sh installs it)"
    fi
fi
demo_setup || abort "the demo's set-up failed"
MSGSEC_SERVER_WRAPPER=
demo_scenario
stop "$mpid" "msgin5g-server under $([ $asan = yes ] && echo LeakSanitizer || echo valgrind)"
if [ $asan = yes ]; then
    lacks "$SLOG" "LeakSanitizer"
else
    last="valgrind log"
    check "valgrind: no leak and no error in the server that served the demo" \
        '[ -f "$tmp/valgrind.log" ] && ! grep -q -e "definitely lost" -e "indirectly lost" -e "possibly lost" -e "Invalid" -e "uninitialised" "$tmp/valgrind.log"'
    [ -s "$tmp/valgrind.log" ] && sed 's/^/  valgrind: /' "$tmp/valgrind.log" | head -n 40
fi
has "$SLOG" "event=shutdown"

# ------------------------------------------------------ 2. a second server

server_up server2 "$tmp/server.conf" --store-ttl 2 || finish
S2LOG=$tmp/server2.err
alive() { check "the server still runs" 'kill -0 "$mpid" 2>/dev/null'; }

# good NAME POLICY ID: a client that registers and exits at once.
good() {
    ue_run "$1" 0 "$2" "$3"
    has "$tmp/$1.out" "registered ue:$3"
}

# raw NAME PERL-CODE: a raw TCP client (perl); $s is the socket.
raw() {
    last="raw client $1"
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$ARGV[0]",
            Proto => "tcp") or exit 7;
        $s->autoflush(1);
        '"$2" "$mport" >"$tmp/$1.out" 2>"$tmp/$1.err"
    rc=$?
}

act "a client that disconnects in the middle of its ClientHello"
n0=$(grep -c '^event=close' "$S2LOG")
# A TLS handshake record header announcing 512 bytes, then 4 of them.
raw cut 'print $s "\x16\x03\x01\x02\x00\x01\x00\x01\xfc"; close $s;'
check "the raw client connected and sent" '[ "$rc" -eq 0 ]'
wait_count "$S2LOG" '^event=close' $((n0 + 1))
check "the server closed that connection" '[ "$count" -gt "$n0" ]'
alive
good alice-a "$tmp/alice.conf" "$ID_ALICE"

act "garbage before the handshake"
n0=$(grep -c '^event=auth .*outcome=failed' "$S2LOG")
raw junk 'print $s "GET / HTTP/1.1\r\nHost: x\r\n\r\n" . ("\xff" x 600);
    my $b; sysread($s, $b, 4096); close $s;'
wait_count "$S2LOG" '^event=auth .*outcome=failed' $((n0 + 1))
check "the server refused it (a failed handshake logged)" '[ "$count" -gt "$n0" ]'
alive
good bob-a "$tmp/bob.conf" "$ID_BOB"

act "a client that stalls while others are served"
raw stall 'print $s "\x16\x03\x01\x00\xc8\x01"; sleep 30;' &
stall_pid=$!
pids="$pids $stall_pid"
sleep 0.2
good carol-a "$tmp/carol.conf" "$ID_CAROL"
good alice-b "$tmp/alice.conf" "$ID_ALICE"
kill "$stall_pid" 2>/dev/null
wait "$stall_pid" 2>/dev/null
forget "$stall_pid"
alive

act "openssl s_client: AKMA PSK identity and K_AF, stream framing"
kaf_alice=$(kaf_of "$KAUSF_ALICE" "$SUPI_ALICE")
check "K_AF of alice derived" '[ ${#kaf_alice} -eq 64 ]'
secrets="$secrets $kaf_alice"
ue bob-s "$tmp/bob.conf" "$ID_BOB" --expect 3 --wait-ms 30000
bobs_pid=$upid
wait_registered bob-s "$ID_BOB"
fifo_open s_client 5 openssl s_client -tls1_3 -psk "$kaf_alice" \
    -psk_identity "3GPP-AKMA$AKID_ALICE" -connect "127.0.0.1:$mport" \
    -quiet -no_ign_eof
sc_pid=$bgpid
SC=$tmp/s_client.out
feed 5 '{"type":"MSG","msgId":"s0","oriAddr":{"addrType":"UE","addr":"'"$ID_ALICE"'"},"destAddr":{"addrType":"UE","addr":"'"$ID_BOB"'"},"payload":"too early"}'
wait_for "$SC" '"msgId":"s0"'
check "MSG before REG: REJECTED NOT_REGISTERED" \
    'grep "\"msgId\":\"s0\"" "$SC" | grep -q "\"status\":\"REJECTED\"" &&
     grep "\"msgId\":\"s0\"" "$SC" | grep -q NOT_REGISTERED'
feed 5 '{"type":"REG","msgId":"s1","ueServiceId":"'"$ID_ALICE"'"}'
wait_for "$SC" '"status":"REG_SUCCESS"'
feed 5 '{"type":"MSG","msgId":"s2","oriAddr":{"addrType":"UE","addr":"'"$ID_ALICE"'"},"destAddr":{"addrType":"UE","addr":"'"$ID_BOB"'"},"payload":"typed in s_client"}'
wait_for "$SC" '"status":"DELY_ACCEPTED"'
wait_for "$tmp/bob-s.out" "typed in s_client"
act "a forged oriAddr from s_client is refused, the connection kept"
feed 5 '{"type":"MSG","msgId":"s3","oriAddr":{"addrType":"UE","addr":"'"$ID_BOB"'"},"destAddr":{"addrType":"UE","addr":"'"$ID_BOB"'"},"payload":"forged"}'
wait_for "$SC" 'ORIADDR_MISMATCH'
wait_for "$S2LOG" "msgId=s3 outcome=REJECTED cause=ORIADDR_MISMATCH"
feed 5 '{"type":"MSG","msgId":"s4","oriAddr":{"addrType":"UE","addr":"'"$ID_ALICE"'"},"destAddr":{"addrType":"UE","addr":"'"$ID_BOB"'"},"payload":"still here"}'
wait_for "$tmp/bob-s.out" "still here"
lacks "$tmp/bob-s.out" "forged"

act "SIGHUP: a policy without SEAL TLS-PSK for new connections"
ini_set "$tmp/server.conf" "service.$SVC" use akma
kill -HUP "$mpid"
wait_for "$S2LOG" "event=reload outcome=ok core=2"
ue_run carol-h 3 "$tmp/carol.conf" "$ID_CAROL"
wait_count "$S2LOG" '^event=auth .*core=2 outcome=failed' 1
check "carol's new connection is refused by the new policy" '[ "$count" -ge 1 ]'
good eve-h "$tmp/eve.conf" "$ID_EVE"
check "eve's new connection runs on the new core" \
    'grep -q "^event=auth .*identity=$AKID_EVE .*core=2 outcome=ok" "$S2LOG"'
feed 5 '{"type":"MSG","msgId":"s5","oriAddr":{"addrType":"UE","addr":"'"$ID_ALICE"'"},"destAddr":{"addrType":"UE","addr":"'"$ID_BOB"'"},"payload":"after the reload"}'
ue_done bob-s "$bobs_pid" 0
check "bob got the three messages typed in s_client, the last after the reload" \
    'grep -q "typed in s_client" "$tmp/bob-s.out" && grep -q "still here" "$tmp/bob-s.out" &&
     grep -q "after the reload" "$tmp/bob-s.out" && [ "$s_received" -eq 3 ]'
wait_for "$SC" '"msgId":"s5"'
last="s_client output"
check "stream framing: every line the server sent ends with LF" \
    '[ "$(tail -c 1 "$SC" | od -An -c | tr -d " ")" = "\\n" ]'
ini_set "$tmp/server.conf" "service.$SVC" use "akma, seal-tlspsk"
kill -HUP "$mpid"
wait_for "$S2LOG" "event=reload outcome=ok core=3"
good carol-b "$tmp/carol.conf" "$ID_CAROL"

act "garbage and an overlong line after the handshake"
feed 5 'this is not JSON'
wait_for "$S2LOG" "event=malformed"
fifo_close s_client 5 "$sc_pid"
n0=$(grep -c '^event=malformed' "$S2LOG")
last="msgin5g over s_client, an overlong line"
long=$(head -c 20000 /dev/zero | tr '\0' 'x')
fifo_open s_long 5 openssl s_client -tls1_3 -psk "$kaf_alice" \
    -psk_identity "3GPP-AKMA$AKID_ALICE" -connect "127.0.0.1:$mport" \
    -quiet -no_ign_eof
sl_pid=$bgpid
feed 5 "{\"type\":\"REG\",\"msgId\":\"l1\",\"payload\":\"$long\"}"
wait_count "$S2LOG" '^event=malformed' $((n0 + 1))
check "the overlong line was logged" '[ "$count" -gt "$n0" ]'
fifo_close s_long 5 "$sl_pid"
alive
good bob-g "$tmp/bob.conf" "$ID_BOB"

act "a stored message expires: a failed delivery report"
ue_run carol-x 6 "$tmp/carol.conf" "$ID_CAROL" --send "ue:$ID_BOB:Never read" \
    --store --report --wait-ms 6000
check "carol: the message was stored" '[ "$s_stored" -eq 1 ]'
has "$tmp/carol-x.out" "from ue:$ID_BOB delivSt=REPT_DELY_FAILED cause=EXPIRED"
wait_for "$S2LOG" "event=expired"

act "a message to an unknown destination"
ue_run alice-u 5 "$tmp/alice.conf" "$ID_ALICE" --send "ue:nobody@$DOM:hello"
has "$tmp/alice-u.out" "UNKNOWN_DESTINATION"

# ------------------- 3. a server with message framing: LF-ended lines
s2pid=$mpid
s2port=$mport
cp "$tmp/server.conf" "$tmp/server-m.conf"
cp "$tmp/alice.conf" "$tmp/alice-m.conf"
ini_set "$tmp/server-m.conf" "service.$SVC" framing message
ini_set "$tmp/alice-m.conf" "service.$SVC" framing message
server_up server-m "$tmp/server-m.conf" || finish
act "message framing: every MSGRESP is one message ending with LF"
# msgsec connect sends each typed line as one message (without its LF,
# which message framing lets the server leave out) and prints each
# message received with a newline after it: a message that ends with LF
# shows as its line and an empty one.
last="msgsec connect (message framing)"
printf '%s\n' '{"type":"REG","msgId":"f1","ueServiceId":"'"$ID_ALICE"'"}' \
    '{"type":"DEREG","msgId":"f2"}' |
    "$MSGSEC" connect -c "$tmp/alice-m.conf" --service "$SVC" \
        --connect "127.0.0.1:$mport" >"$tmp/mf.out" 2>"$tmp/mf.err"
rc=$?
check "msgsec connect exits 0" '[ "$rc" -eq 0 ]'
check "two answers, each message ended by LF" \
    '[ "$(wc -l <"$tmp/mf.out")" -eq 4 ] && [ -z "$(sed -n 2p "$tmp/mf.out")" ] &&
     [ -z "$(sed -n 4p "$tmp/mf.out")" ] &&
     grep -q "\"msgId\":\"f1\",\"status\":\"REG_SUCCESS\"" "$tmp/mf.out" &&
     grep -q "\"msgId\":\"f2\",\"status\":\"DEREG_SUCCESS\"" "$tmp/mf.out"'
clean "$tmp/mf.out" "$tmp/mf.err"
stop "$mpid" "msgin5g-server (message framing)"
clean "$tmp/server-m.err"

# ------------------- 4. a third server: handshake timeout, storage caps
server_up server3 "$tmp/server.conf" --handshake-timeout 1 --max-stored 2 \
    --max-stored-per-ue 1 || finish
S3LOG=$tmp/server3.err

act "a client that stalls in its handshake is closed by the handshake timeout"
raw stall3 'alarm 8; print $s "\x16\x03\x01\x00\xc8\x01"; my ($b, $n);
    while ($n = sysread($s, $b, 4096)) {} print defined $n ? "eof\n" : "error\n";'
check "the server closed the stalled connection (end of stream)" \
    '[ "$rc" -eq 0 ] && grep -q "^eof" "$tmp/stall3.out"'
has "$S3LOG" "reason=handshake-timeout detail=not authenticated within 1 s"

act "authenticated but never registered: closed by the handshake timeout"
fifo_open s_noreg 5 openssl s_client -tls1_3 -psk "$kaf_alice" \
    -psk_identity "3GPP-AKMA$AKID_ALICE" -connect "127.0.0.1:$mport" \
    -quiet -no_ign_eof
snr_pid=$bgpid
wait_for "$S3LOG" "reason=handshake-timeout detail=authenticated but not registered within 1 s"
check "the logged connection was authenticated as alice's A-KID" \
    'grep "reason=handshake-timeout detail=authenticated" "$S3LOG" | grep -q "identity=$AKID_ALICE"'
fifo_close s_noreg 5 "$snr_pid"

act "a registered client is not cut by the handshake timeout"
ue_run bob-t 0 "$tmp/bob.conf" "$ID_BOB" --wait-ms 2500
has "$tmp/bob-t.out" "registered ue:$ID_BOB"
check "exactly the two unregistered connections timed out" \
    '[ "$(grep -c "reason=handshake-timeout" "$S3LOG")" -eq 2 ]'
good carol-t "$tmp/carol.conf" "$ID_CAROL"
good eve-t "$tmp/eve.conf" "$ID_EVE"

act "storage caps: one message per offline UE, two in all"
ue_run alice-f 5 "$tmp/alice.conf" "$ID_ALICE" --store \
    --send "ue:$ID_BOB:first" --send "ue:$ID_BOB:second"
check "the first is stored, the second refused" \
    '[ "$s_stored" -eq 1 ] && [ "$s_failed" -eq 1 ]'
has "$tmp/alice-f.out" "to ue:$ID_BOB status=DELY_FAILED cause=STORAGE_FULL"
has "$S3LOG" "outcome=DELY_FAILED cause=STORAGE_FULL delivered=0 stored=0"
ue_run alice-g 5 "$tmp/alice.conf" "$ID_ALICE" --store \
    --send "ue:$ID_CAROL:third" --send "ue:$ID_EVE:fourth"
check "carol's is stored (two in all), eve's refused by the total cap" \
    '[ "$s_stored" -eq 1 ] && [ "$s_failed" -eq 1 ]'
has "$tmp/alice-g.out" "to ue:$ID_EVE status=DELY_FAILED cause=STORAGE_FULL"
ue_run bob-f 0 "$tmp/bob.conf" "$ID_BOB" --expect 1 --dereg
has "$tmp/bob-f.out" "received from ue:$ID_ALICE: first"
lacks "$tmp/bob-f.out" "second"
ue_run alice-h 0 "$tmp/alice.conf" "$ID_ALICE" --store \
    --send "ue:$ID_EVE:fifth"
check "delivered messages free room: eve's is stored now" '[ "$s_stored" -eq 1 ]'
alive
stop "$mpid" "msgin5g-server (third)"
has "$S3LOG" "event=shutdown"
clean "$S3LOG"
mpid=$s2pid
mport=$s2port

act "the AAnF disappears while clients connect"
stop "$aanf_pid" "AAnF"
# dave's K_AF is not in this server's cache (nor, yet, in any AAnF);
# alice's and bob's are (in the core of the last reload).
ue_run dave-d 3 "$tmp/dave.conf" "$ID_DAVE"
has "$tmp/dave-d.out" "authentication failed: MSGSEC_ERR_PEER_REJECTED"
wait_for "$S2LOG" "error=MSGSEC_ERR_LOOKUP_FAILED detail=provider akma: A-KID"
good alice-d "$tmp/alice.conf" "$ID_ALICE"
good bob-d "$tmp/bob.conf" "$ID_BOB"
alive
if aanf_up aanf2 "$aanf_port"; then
    register "$SUPI_DAVE" "$KAUSF_DAVE"
    good dave-r "$tmp/dave.conf" "$ID_DAVE"
    stop "$apid" "AAnF (restarted)"
fi

act "SIGTERM"
stop "$mpid" "msgin5g-server (second)"
has "$S2LOG" "event=shutdown"
clean "$S2LOG"
stop "$kpid" "msgsec-seal-km"
last="every output"
clean_all
finish
