#!/bin/sh
# Load on msgin5g-server (`make bench-load`, or bench/msgin5g_load without
# arguments):
#
#   bench/run-load.sh SRCDIR BUILDDIR [CLIENTS [MESSAGES [UES]]]
#
# Starts msgsec-aanf, registers UES AKMA UEs with it as the AUSF would
# (default 50), starts msgin5g-server with the shipped policy
# etc/msgsec.conf given the AF's settings, and runs bench/msgin5g_load with
# CLIENTS concurrent clients (default 1000) sending MESSAGES messages each
# (default 10). The descriptor limit is raised to its hard limit for both.
# Every process started is stopped by its PID. Nothing is asserted about
# timings; the status is msgin5g_load's (0: every client registered and
# every message arrived).
#
# For measuring the server's memory: MSGSEC_LOAD_HOLD_S=S keeps the idle
# connections open S seconds after the memory reading (msgin5g_load
# --hold-s), and MSGSEC_SERVER_WRAPPER runs the server under a command
# (e.g. "$BUILDDIR/libtool --mode=execute valgrind --tool=massif").
# shellcheck disable=SC2034,SC2154

src=$(cd "${1:?usage: run-load.sh SRCDIR BUILDDIR [CLIENTS [MESSAGES [UES]]]}" && pwd)
build=$(cd "${2:?usage: run-load.sh SRCDIR BUILDDIR}" && pwd)
clients=${3:-1000}
messages=${4:-10}
nues=${5:-50}
. "$src/tests/integration/lib.sh"
MSGSEC_DEMO_LIB=1
. "$src/scripts/demo.sh"
lib_init load
demo_paths "$src" "$build"
for f in "$MSGSEC" "$AANF" "$MSERVER" "$build/bench/msgin5g_load"; do
    [ -x "$f" ] || abort "not built: $f"
done
# One descriptor per client in the server and in the generator.
ulimit -n "$(ulimit -H -n)" 2>/dev/null

aanf_up aanf 0 || finish
echo "registering $nues UEs with the AAnF"
: >"$tmp/ues"
i=1
while [ "$i" -le "$nues" ]; do
    supi=imsi-00101$(printf '%010d' "$i")
    k=$(hex32)
    "$MSGSEC" akma register --aanf "http://127.0.0.1:$aport" --kausf "$k" \
        --supi "$supi" --rid 0 --mcc 001 --mnc 01 >/dev/null 2>"$err" ||
        abort "registering $supi: $(cat "$err")"
    printf '%s\n' "$k" >"$tmp/ue$i.key"
    printf '%s %s\n' "$supi" "$tmp/ue$i.key" >>"$tmp/ues"
    i=$((i + 1))
done

# The shipped policy with the AF's settings (no SEAL authorization: the
# load is AKMA's).
cp "$SHIPPED" "$tmp/server.conf"
ini_set "$tmp/server.conf" core provider_dir "$AKMA_DIR"
ini_set "$tmp/server.conf" provider.akma af_fqdn "$FQDN"
ini_set "$tmp/server.conf" provider.akma aanf_uri "http://127.0.0.1:$aport"
: >"$tmp/groups"
server_up server "$tmp/server.conf" --max-connections $((clients + 64)) ||
    finish

"$build/bench/msgin5g_load" --connect "127.0.0.1:$mport" --ues "$tmp/ues" \
    --provider-dir "$AKMA_DIR" --clients "$clients" --messages "$messages" \
    --service "$SVC" --framing "$(framing_of "$tmp/server.conf")" \
    --af-fqdn "$FQDN" --domain "$DOM" --server-pid "$mpid" \
    --aanf-log "$tmp/aanf.err" ${MSGSEC_LOAD_HOLD_S:+--hold-s "$MSGSEC_LOAD_HOLD_S"}
rc=$?
check "msgin5g_load: every client registered, every message arrived" \
    '[ "$rc" -eq 0 ]'
stop "$mpid" "msgin5g-server"
stop "$apid" "msgsec-aanf"
finish
