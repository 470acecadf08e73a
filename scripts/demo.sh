#!/bin/sh
# The msgsec demonstration (`make demo`, `scripts/bootstrap.sh demo`):
#
#   scripts/demo.sh SRCDIR BUILDDIR
#
# An operator's MSGin5G deployment on loopback: an AAnF (msgsec-aanf) and
# SEAL key and configuration management (msgsec-seal-km); the AUSF
# registering two AKMA UEs; msgin5g-server running the shipped policy
# etc/msgsec.conf with only this deployment's settings filled in (AKMA
# mandatory, SEAL TLS-PSK, SEAL authorization of UE service IDs). Then UEs:
# alice and bob (AKMA), carol (SEAL TLS-PSK) exchange point-to-point,
# group and store-and-forward messages with delivery reports; mallory (a
# wrong key), a stranger (an A-KID the AAnF does not know) and eve (who
# tries to register and to send as alice) are refused. Every expectation is
# checked; a summary table follows. Exits 0 only when all held. Every
# process started is stopped by its PID, also on failure or Ctrl-C. No key
# material is printed.
#
# tests/integration/test_msgin5g.sh sources this file with
# MSGSEC_DEMO_LIB=1 to reuse the set-up and the scenario (and their checks),
# and tests/integration/lib.sh provides the checks, the process handling,
# the AAnF (aanf_start) and the AUSF's registrations (register).
# shellcheck disable=SC2016,SC2034,SC2154

# ------------------------------------------------------------ settings

FQDN=msgin5g.example.com
SVC=msgin5g-1
DOM=msgin5g.example
SUPI_ALICE=imsi-001010000000001
SUPI_BOB=imsi-001010000000002
SUPI_EVE=imsi-001010000000003
SUPI_STRANGER=imsi-001010000000099
# dave is known to configuration management but only registered with the
# AAnF by tests/integration/test_msgin5g.sh.
SUPI_DAVE=imsi-001010000000004
CAROL_USER=carol@seal.example
ID_ALICE=alice@$DOM
ID_BOB=bob@$DOM
ID_CAROL=carol@$DOM
ID_EVE=eve@$DOM
ID_DAVE=dave@$DOM
GROUP=team@$DOM

# demo_paths SRCDIR BUILDDIR: the programs and modules.
demo_paths() {
    SRC=$1
    BUILD=$2
    MSGSEC=$BUILD/tools/msgsec
    AANF=$BUILD/tools/msgsec-aanf
    SEALKM=$BUILD/tools/msgsec-seal-km
    MSERVER=$BUILD/examples/msgin5g-server
    MCLIENT=$BUILD/examples/msgin5g-client
    AKMA_DIR=$BUILD/plugins/akma
    SEAL_MODULE=$BUILD/plugins/seal-tlspsk/seal-tlspsk
    SHIPPED=$SRC/etc/msgsec.conf
}

# demo_missing: names what is not built (empty when all is there).
demo_missing() {
    _m=
    for _f in "$MSGSEC" "$AANF" "$SEALKM" "$MSERVER" "$MCLIENT"; do
        [ -x "$_f" ] || _m="$_m $_f"
    done
    for _f in "$AKMA_DIR/akma.la" "$SEAL_MODULE.la" "$SHIPPED"; do
        [ -f "$_f" ] || _m="$_m $_f"
    done
    echo "$_m"
}

hex32() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }

# ------------------------------------------------------------ policies

# ini_set FILE SECTION KEY VALUE: sets KEY in [SECTION] of FILE: replaces
# its line, else adds one after the section's last setting (or header).
ini_set() {
    awk -v sec="[$2]" -v key="$3" -v val="$4" '
        function is_key(l) { return l ~ ("^[ \t]*" key "[ \t]*=") }
        NR == FNR {
            if ($0 ~ /^[ \t]*\[/) { cur = $0; sub(/[ \t;].*$/, "", cur) }
            if (cur == sec) {
                if ($0 ~ /^[ \t]*\[/ || $0 ~ /^[ \t]*[A-Za-z_0-9-]+[ \t]*=/)
                    anchor = FNR
                if (is_key($0)) found = FNR
            }
            next
        }
        found && FNR == found { print key " = " val; next }
        { print }
        !found && FNR == anchor { print key " = " val }
    ' "$1" "$1" >"$1.new" && mv "$1.new" "$1"
    chmod 600 "$1"
}

# ini_get FILE SECTION KEY: the value of KEY in [SECTION] ("" if unset).
ini_get() {
    awk -v sec="[$2]" -v key="$3" '
        /^[ \t]*\[/ { cur = $0; sub(/[ \t;].*$/, "", cur); next }
        cur == sec && $0 ~ ("^[ \t]*" key "[ \t]*=") {
            v = $0; sub(/^[^=]*=[ \t]*/, "", v); sub(/[ \t]*[;#].*$/, "", v)
            print v; exit
        }' "$1"
}

# server_policy DST AANF_PORT KM_PORT: the shipped policy with this
# deployment's settings: where the modules are, the AF's FQDN and AAnF,
# SEAL key and configuration management and its token, and SEAL
# authorization of the UE service IDs registered on msgin5g-1.
server_policy() {
    cp "$SHIPPED" "$1" || return 1
    ini_set "$1" core provider_dir "$AKMA_DIR"
    ini_set "$1" provider.akma af_fqdn "$FQDN"
    ini_set "$1" provider.akma aanf_uri "http://127.0.0.1:$2"
    ini_set "$1" provider.seal-tlspsk module "$SEAL_MODULE"
    ini_set "$1" provider.seal-tlspsk km_uri "http://127.0.0.1:$3"
    ini_set "$1" provider.seal-tlspsk km_token_file "$tmp/km.token"
    ini_set "$1" provider.seal-tlspsk cm_uri "http://127.0.0.1:$3"
    ini_set "$1" "service.$SVC" authorize seal-tlspsk
}

# The framing every UE must use: the server policy's (default message).
framing_of() {
    _fr=$(ini_get "$1" "service.$SVC" framing)
    echo "${_fr:-message}"
}

# akma_ue DST FRAMING KAUSF SUPI | akma_ue DST FRAMING - KAKMA AKID
akma_ue() {
    if [ "$3" = - ]; then
        _keys="kakma   = $4
akid    = $5"
    else
        _keys="kausf   = $3
supi    = $4
rid     = 0
mcc     = 001
mnc     = 01"
    fi
    cat >"$1" <<CONF
; A UE with an AKMA MSGin5G client.
[core]
provider_dir = $AKMA_DIR
[provider.akma]
support = mandatory
$_keys
af_fqdn = $FQDN
[service.$SVC]
use         = akma
negotiation = implicit
framing     = $2
CONF
    chmod 600 "$1"
}

# seal_ue DST FRAMING KM_PORT USER: a UE whose SEAL client gets its key
# from SEAL key management.
seal_ue() {
    cat >"$1" <<CONF
; A UE with a SEAL client: TLS-PSK keyed through SEAL key management.
[core]
seal_client = yes
[provider.seal-tlspsk]
module        = $SEAL_MODULE
support       = mandatory
km_uri        = http://127.0.0.1:$3
km_token_file = $tmp/km.token
val_user_id   = $4
[service.$SVC]
use         = seal-tlspsk
negotiation = implicit
framing     = $2
CONF
    chmod 600 "$1"
}

# ------------------------------------------------------------ processes

# aanf_up NAME PORT [ARG...]: aanf_start (lib.sh) with keys that live an
# hour: PID in $apid, port in $aport, its request log in $tmp/NAME.err.
aanf_up() {
    _an=$1
    _ap=$2
    shift 2
    aanf_start "$_an" "$_ap" --expiry 3600 "$@"
}

# km_up NAME [ARG...]: msgsec-seal-km with $tmp/km.records; $kpid, $kport.
km_up() {
    _kn=$1
    shift
    listener "$_kn" "SEAL key management" "$SEALKM" --listen 127.0.0.1:0 \
        --records "$tmp/km.records" "$@" || return 1
    kpid=$bgpid
    kport=$port
}

# server_up NAME POLICY [ARG...]: msgin5g-server (it reports its port on
# standard error, with its log); PID in $mpid, port in $mport, log in
# $tmp/NAME.err.
server_up() {
    _mn=$1
    _mpol=$2
    shift 2
    spawn "$_mn" ${MSGSEC_SERVER_WRAPPER:-} "$MSERVER" --policy "$_mpol" \
        --service "$SVC" --listen 127.0.0.1:0 --groups "$tmp/groups" "$@"
    mpid=$bgpid
    last="msgin5g-server --policy $(basename "$_mpol") --service $SVC --listen 127.0.0.1:0 --groups groups $*"
    if wait_port "$tmp/$_mn.err" "$mpid"; then
        mport=$port
        ok "msgin5g-server ($_mn) listens on 127.0.0.1:$mport"
        return 0
    fi
    mport=1
    bad "msgin5g-server ($_mn) did not report its port"
    sed 's/^/  server: /' "$tmp/$_mn.err"
    return 1
}

# akid_of KAUSF SUPI: prints the A-KID (`msgsec akma derive`; its key
# lines never leave this pipe).
akid_of() {
    "$MSGSEC" akma derive --kausf "$1" --supi "$2" --rid 0 --mcc 001 \
        --mnc 01 | sed -n 's/^A-KID=//p'
}

# kaf_of KAUSF SUPI: prints K_AF for this AF (TLS 1.3).
kaf_of() {
    "$MSGSEC" akma derive --kausf "$1" --supi "$2" --rid 0 --mcc 001 \
        --mnc 01 --af-fqdn "$FQDN" | sed -n 's/^K_AF=//p'
}

# ue NAME POLICY ID [ARG...]: msgin5g-client in the background (output in
# $tmp/NAME.out and .err, PID in $upid).
ue() {
    _un=$1
    _upol=$2
    _uid=$3
    shift 3
    say "\$ msgin5g-client --policy $(basename "$_upol") --connect 127.0.0.1:PORT --ue-service-id $_uid $*"
    spawn "$_un" "$MCLIENT" --policy "$_upol" --connect "127.0.0.1:$mport" \
        --ue-service-id "$_uid" "$@"
    upid=$bgpid
}

# ue_done NAME PID WANT: the client must exit with WANT; its output is
# shown, indented, and checked for secrets; its summary is read.
ue_done() {
    last="msgin5g-client $1"
    await "$2" "$3" "$1"
    sed 's/^/    /' "$tmp/$1.out" "$tmp/$1.err"
    clean "$tmp/$1.out" "$tmp/$1.err"
    summary "$1"
}

# ue_run NAME WANT POLICY ID [ARG...]: a client in the foreground.
ue_run() {
    _rn=$1
    _rw=$2
    shift 2
    ue "$_rn" "$@"
    ue_done "$_rn" "$upid" "$_rw"
}

# summary NAME: the client's "summary sent=N ..." line into s_sent,
# s_accepted, s_stored, s_failed, s_delivered, s_received (-1 when absent).
summary() {
    _line=$(grep '^summary ' "$tmp/$1.out" "$tmp/$1.err" 2>/dev/null |
        tail -n 1 | sed 's/^[^:]*://')
    for _k in sent accepted stored failed delivered received; do
        _v=$(printf '%s\n' "$_line" | sed -n "s/.* $_k=\([0-9][0-9]*\).*/\1/p")
        eval "s_$_k=\${_v:--1}"
    done
}

# wait_registered NAME ID: waits until client NAME has registered as ID.
wait_registered() { wait_for "$tmp/$1.out" "registered ue:$2"; }

# logged WHAT RE: waits until the server's log has a line matching RE
# (basic regular expression).
logged() {
    wait_count "$SLOG" "$2" 1
    check "the server logged $1" '[ "$count" -ge 1 ]'
}

# msgid NAME: the msgId of the first message client NAME sent.
msgid() { sed -n 's/^sent msgId=\([^ ]*\) .*/\1/p' "$tmp/$1.out" | head -n 1; }

# why NAME: the error name a failed client reported.
why() {
    grep -h -o -e 'MSGSEC_ERR_[A-Z_]*' -e 'NOT_AUTHORIZED' \
        -e 'ORIADDR_MISMATCH' "$tmp/$1.out" "$tmp/$1.err" | head -n 1
}

# row UE SCHEME AUTH SENT DELIVERED RECEIVED NOTE: one line of the table.
row() {
    printf '%s|%s|%s|%s|%s|%s|%s\n' "$@" >>"$tmp/table"
}

# tally UE SCHEME NAME [NOTE]: a row from client NAME's outputs.
tally() {
    summary "$3"
    if grep -q '^authenticated ' "$tmp/$3.out"; then
        _auth=yes
    else
        _auth="no: $(why "$3")"
    fi
    row "$1" "$2" "$_auth" "$(nn "$s_sent")" "$(nn "$s_delivered")" \
        "$(nn "$s_received")" "${4:-}"
}
nn() { if [ "$1" -lt 0 ]; then echo 0; else echo "$1"; fi; }

say() { printf '%s\n' "$*"; }
act() {
    echo
    echo "=== $*"
}

# ------------------------------------------------------------ the set-up

# demo_setup: keys, the emulators, the AUSF's registrations, the server's
# policy and the UEs' policies; the server started. Returns 1 when a part
# did not start.
demo_setup() {
    KAUSF_ALICE=$(hex32)
    KAUSF_BOB=$(hex32)
    KAUSF_EVE=$(hex32)
    KAUSF_STRANGER=$(hex32)
    KAUSF_DAVE=$(hex32)
    KAKMA_MALLORY=$(hex32)
    CAROL_PSK=$(hex32)
    TOKEN=demo-$(hex32)
    secrets="$KAUSF_ALICE $KAUSF_BOB $KAUSF_EVE $KAUSF_STRANGER $KAUSF_DAVE $KAKMA_MALLORY $CAROL_PSK $TOKEN"
    for _s in "$KAUSF_ALICE:$SUPI_ALICE" "$KAUSF_BOB:$SUPI_BOB" \
        "$KAUSF_EVE:$SUPI_EVE" "$KAUSF_DAVE:$SUPI_DAVE"; do
        _d=$("$MSGSEC" akma derive --kausf "${_s%%:*}" --supi "${_s#*:}" \
            --af-fqdn "$FQDN" | sed -n -e 's/^K_AKMA=//p' -e 's/^K_AF=//p')
        secrets="$secrets $(echo $_d)"
    done
    AKID_ALICE=$(akid_of "$KAUSF_ALICE" "$SUPI_ALICE")
    AKID_BOB=$(akid_of "$KAUSF_BOB" "$SUPI_BOB")
    AKID_STRANGER=$(akid_of "$KAUSF_STRANGER" "$SUPI_STRANGER")
    AKID_EVE=$(akid_of "$KAUSF_EVE" "$SUPI_EVE")

    act "The network: an AAnF, SEAL key and configuration management"
    printf '%s\n' "$TOKEN" >"$tmp/km.token"
    cat >"$tmp/km.records" <<REC
# SEAL key management: the token it accepts, carol's key record, and the
# UE service IDs each identity may register (configuration management).
token $TOKEN
key msgin5g $CAROL_USER 3GPP-SEAL:$CAROL_USER $CAROL_PSK 3600
assoc $SUPI_ALICE $ID_ALICE
assoc $SUPI_BOB $ID_BOB
assoc $SUPI_EVE $ID_EVE
assoc $SUPI_DAVE $ID_DAVE
assoc $CAROL_USER $ID_CAROL
REC
    chmod 600 "$tmp/km.token" "$tmp/km.records"
    printf '%s: %s, %s, %s\n' "$GROUP" "$ID_ALICE" "$ID_BOB" "$ID_CAROL" \
        >"$tmp/groups"
    say "UE service IDs: alice -> $SUPI_ALICE, bob -> $SUPI_BOB,"
    say "eve -> $SUPI_EVE (AKMA); carol -> SEAL user $CAROL_USER."
    say "Group $GROUP: alice, bob, carol."
    aanf_up aanf 0 || return 1
    aanf_pid=$apid
    aanf_port=$aport
    km_up km || return 1

    act "The AUSF registers the AKMA UEs (primary authentication done)"
    register "$SUPI_ALICE" "$KAUSF_ALICE" "$AKID_ALICE"
    register "$SUPI_BOB" "$KAUSF_BOB" "$AKID_BOB"
    register "$SUPI_EVE" "$KAUSF_EVE" "$AKID_EVE"
    say "($SUPI_STRANGER is not registered: the AAnF does not know its A-KID.)"

    act "The MSGin5G server runs the shipped policy etc/msgsec.conf"
    server_policy "$tmp/server.conf" "$aanf_port" "$kport"
    say "with this deployment's settings (diff against the shipped file):"
    diff "$SHIPPED" "$tmp/server.conf" | sed -n 's/^> /    + /p'
    last="msgsec check -c server.conf"
    "$MSGSEC" check -c "$tmp/server.conf" >"$out" 2>"$err"
    rc=$?
    check "msgsec check accepts the server's policy" '[ "$rc" -eq 0 ]'
    : >"$out"
    FRAMING=$(framing_of "$tmp/server.conf")
    akma_ue "$tmp/alice.conf" "$FRAMING" "$KAUSF_ALICE" "$SUPI_ALICE"
    akma_ue "$tmp/bob.conf" "$FRAMING" "$KAUSF_BOB" "$SUPI_BOB"
    akma_ue "$tmp/eve.conf" "$FRAMING" "$KAUSF_EVE" "$SUPI_EVE"
    akma_ue "$tmp/dave.conf" "$FRAMING" "$KAUSF_DAVE" "$SUPI_DAVE"
    akma_ue "$tmp/stranger.conf" "$FRAMING" "$KAUSF_STRANGER" \
        "$SUPI_STRANGER"
    akma_ue "$tmp/mallory.conf" "$FRAMING" - "$KAKMA_MALLORY" "$AKID_ALICE"
    seal_ue "$tmp/carol.conf" "$FRAMING" "$kport" "$CAROL_USER"
    server_up server "$tmp/server.conf" || return 1
    SLOG=$tmp/server.err
    : >"$tmp/table"
}

# ------------------------------------------------------------ the scenario

demo_scenario() {
    act "bob (AKMA) connects and waits for messages"
    ue bob1 "$tmp/bob.conf" "$ID_BOB" --expect 2 --wait-ms 20000
    bob_pid=$upid
    wait_registered bob1 "$ID_BOB"

    act "alice (AKMA) sends bob a message with a delivery report"
    ue alice "$tmp/alice.conf" "$ID_ALICE" \
        --send "ue:$ID_BOB:Hello Bob, this is Alice" --report \
        --expect 1 --wait-ms 20000
    alice_pid=$upid
    wait_registered alice "$ID_ALICE"
    wait_for "$tmp/bob1.out" "Hello Bob, this is Alice"

    act "carol (SEAL TLS-PSK) writes to the group $GROUP"
    ue_run carol1 0 "$tmp/carol.conf" "$ID_CAROL" \
        --send "group:$GROUP:Hello team, carol here"
    check "carol: 1 sent, 1 accepted" '[ "$s_sent" -eq 1 ] && [ "$s_accepted" -eq 1 ]'
    tally carol seal-tlspsk carol1 "group message"

    ue_done alice "$alice_pid" 0
    check "alice: 1 sent and accepted, its delivery report received, 1 group message received" \
        '[ "$s_sent" -eq 1 ] && [ "$s_accepted" -eq 1 ] && [ "$s_delivered" -eq 1 ] && [ "$s_received" -eq 1 ]'
    has "$tmp/alice.out" "Hello team, carol here"
    has "$tmp/alice.out" "report msgId=$(msgid alice) from ue:$ID_BOB delivSt=REPT_DELY_SUCCESS"
    logged "alice's message delivered to bob" \
        "^event=msg .* ue=$ID_ALICE msgId=[^ ][^ ]* dest=UE:$ID_BOB outcome=DELY_ACCEPTED delivered=1 stored=0"
    logged "bob's delivery report to alice" \
        "^event=imdn .* ue=$ID_BOB msgId=[^ ][^ ]* dest=UE:$ID_ALICE delivSt=REPT_DELY_SUCCESS outcome=DELY_ACCEPTED delivered=1"
    logged "carol's group message delivered to alice and bob" \
        "^event=msg .* identity=$CAROL_USER ue=$ID_CAROL msgId=[^ ][^ ]* dest=GROUP:$GROUP outcome=DELY_ACCEPTED delivered=2"
    tally alice akma alice "to bob, with report"
    ue_done bob1 "$bob_pid" 0
    check "bob: received alice's message and the group message" \
        '[ "$s_received" -eq 2 ]'
    has "$tmp/bob1.out" "Hello team, carol here"
    tally bob akma bob1

    act "carol writes to bob, who is offline: the server stores the message"
    ue carol2 "$tmp/carol.conf" "$ID_CAROL" \
        --send "ue:$ID_BOB:Stored for Bob" --store --report --wait-ms 20000
    carol_pid=$upid
    wait_for "$tmp/carol2.out" "DELY_STORED"
    say "bob comes back online and gets it; carol gets the delivery report"
    ue_run bob2 0 "$tmp/bob.conf" "$ID_BOB" --expect 1 --wait-ms 10000
    check "bob: received the stored message" '[ "$s_received" -eq 1 ]'
    has "$tmp/bob2.out" "received from ue:$ID_CAROL: Stored for Bob"
    logged "carol's message stored for bob" \
        "^event=msg .* ue=$ID_CAROL msgId=[^ ][^ ]* dest=UE:$ID_BOB outcome=DELY_STORED delivered=0 stored=1"
    logged "the stored message delivered when bob registered" \
        "^event=deliver-stored .* ue=$ID_BOB type=MSG msgId=[^ ][^ ]* from=$ID_CAROL"
    tally bob akma bob2 "stored message"
    ue_done carol2 "$carol_pid" 0
    check "carol: 1 stored, its delivery report received" \
        '[ "$s_stored" -eq 1 ] && [ "$s_delivered" -eq 1 ]'
    tally carol seal-tlspsk carol2 "stored for bob, with report"

    act "mallory presents alice's A-KID with a key of its own"
    ue_run mallory 3 "$tmp/mallory.conf" "$ID_ALICE" \
        --send "ue:$ID_BOB:I am alice"
    has "$tmp/mallory.out" "authentication failed: MSGSEC_ERR_AUTH_FAILED"
    logged "mallory's failed handshake" \
        "^event=auth .* outcome=failed error=MSGSEC_ERR_AUTH_FAILED "
    tally mallory akma mallory "wrong key"

    act "a UE whose A-KID the AAnF does not know"
    ue_run stranger 3 "$tmp/stranger.conf" "stranger@$DOM"
    has "$tmp/stranger.out" "authentication failed: MSGSEC_ERR_REAUTH_REQUIRED"
    has "$tmp/stranger.out" "run primary authentication again"
    logged "the unknown A-KID" \
        "^event=auth .* outcome=failed error=MSGSEC_ERR_KEY_UNAVAILABLE .*A-KID $AKID_STRANGER: the AAnF has no K_AF"
    tally stranger akma stranger "unknown A-KID"

    act "eve (AKMA, a real UE) tries to register as alice"
    ue_run eve1 4 "$tmp/eve.conf" "$ID_ALICE"
    has "$tmp/eve1.out" "registration refused status=REJECTED cause=NOT_AUTHORIZED"
    logged "SEAL authorization refusing eve as alice" \
        "^event=reg .* identity=$AKID_EVE ue=$ID_ALICE msgId=[^ ][^ ]* authz=seal-tlspsk outcome=REJECTED cause=NOT_AUTHORIZED"
    tally eve akma eve1 "REG as alice refused"

    act "eve registers as herself and sends as alice"
    ue_run eve2 5 "$tmp/eve.conf" "$ID_EVE" --ori-addr "$ID_ALICE" \
        --send "ue:$ID_BOB:Alice here, honestly"
    has "$tmp/eve2.out" "status=REJECTED cause=ORIADDR_MISMATCH"
    logged "eve's forged oriAddr" \
        "^event=msg .* ue=$ID_EVE msgId=[^ ][^ ]* outcome=REJECTED cause=ORIADDR_MISMATCH"
    check "eve's forged message reached no one" \
        '! grep -q -F "Alice here, honestly" "$tmp"/bob*.out "$tmp"/alice.out'
    tally eve akma eve2 "forged oriAddr refused"

    act "What the server and the AAnF saw"
    # Shortened for reading: A-KIDs cut after 8 hex digits, no addresses.
    short='s/ addr=[^ ]*//; s/\([0-9]\.[0-9a-f]\{8\}\)[0-9a-f]*@[^ ]*/\1.../g'
    grep '^event=' "$SLOG" | sed -e "$short" -e 's/^/    server: /' | cut -c1-200
    sed -e "$short" -e 's/^[^ ]* /    aanf:   /' "$tmp/aanf.err" | cut -c1-200
    check "the server authenticated AKMA and SEAL TLS-PSK UEs on one port" \
        'grep -q "^event=auth .* scheme=akma identity=$AKID_ALICE supi=$SUPI_ALICE .*outcome=ok" "$SLOG" &&
        grep -q "^event=auth .* scheme=seal-tlspsk identity=$CAROL_USER .*outcome=ok" "$SLOG"'
    n_alice=$(retrieves "$tmp/aanf.err" "$AKID_ALICE")
    check "one AAnF request for alice's A-KID (alice, mallory: the AF's cache)" \
        '[ "$n_alice" -eq 1 ]'
    # K_AUSF of 5 UEs, K_AKMA and K_AF of 4, mallory's K_AKMA, carol's
    # PSK, the token.
    no_secrets 16 "keys and tokens"
}

# demo_table: the summary, one line a UE (its clients' runs added up).
demo_table() {
    act "Summary"
    awk -F'|' '
        !($1 in seen) { seen[$1] = 1; order[++n] = $1; sch[$1] = $2 }
        {
            a = auth[$1]
            if (a == "" || a == $3) auth[$1] = $3
            else if (index(a, $3) == 0) auth[$1] = a "; " $3
            split($4, s, " "); sent[$1] += s[1]
            del[$1] += $5; rec[$1] += $6
            note[$1] = note[$1] (note[$1] != "" && $7 != "" ? "; " : "") $7
        }
        END {
            f = "%-9s %-12s %-34s %5s %10s %9s  %s\n"
            printf f, "UE", "scheme", "authenticated", "sent", "delivered",
                "received", "notes"
            for (i = 1; i <= n; i++) {
                u = order[i]
                printf f, u, sch[u], auth[u], sent[u], del[u], rec[u], note[u]
            }
        }' "$tmp/table"
    echo "(sent: messages sent; delivered: delivery reports of successful"
    echo "delivery received; received: messages received)"
}

[ -n "${MSGSEC_DEMO_LIB:-}" ] && return 0

# ------------------------------------------------------------ main

src=$(cd "${1:?usage: demo.sh SRCDIR BUILDDIR}" && pwd)
build=$(cd "${2:?usage: demo.sh SRCDIR BUILDDIR}" && pwd)
. "$src/tests/integration/lib.sh"
lib_init demo
started=$(date +%s)
demo_paths "$src" "$build"
missing=$(demo_missing)
[ -z "$missing" ] || abort "not built:$missing"
if demo_setup; then
    demo_scenario
    demo_table
fi
[ -n "${mpid:-}" ] && stop "$mpid" "msgin5g-server"
echo
echo "demo finished in $(($(date +%s) - started)) s"
finish
