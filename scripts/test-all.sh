#!/usr/bin/env bash
# The full test suite, as CI runs it: unit and integration tests, the same
# under AddressSanitizer+UBSan, fuzz smoke runs, the out-of-tree template
# build, and make distcheck. Prints every CUnit summary and one total line.
set -uo pipefail

top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)
failed_steps=()
total_pass=0
total_fail=0

step() {  # step NAME COMMAND...
    local name=$1; shift
    echo "== $name"
    if "$@"; then echo "== $name: ok"; else echo "== $name: FAILED"; failed_steps+=("$name"); fi
}

build() {  # build DIR [configure args...]
    local dir=$1; shift
    rm -rf "$dir" && mkdir -p "$dir" &&
        (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs")
}

# Adds the counts of one build's test logs to the totals and prints them.
collect() {  # collect BUILDDIR LABEL
    local dir=$1 label=$2 log
    for log in $(find "$dir/tests" "$dir/sdk" -name '*.log' ! -name 'test-suite.log' 2>/dev/null | sort); do
        local p f line
        # A script's own summary is its last line "N passed, N failed" that
        # starts the line (the scripts indent what their tools print).
        line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
        if grep -q 'Run Summary' "$log"; then
            echo "-- $label ${log#$dir/}"
            sed -n '/Run Summary/,/Elapsed/p' "$log"
            p=$(awk '$1=="tests"{print $4}' "$log" | tail -1)
            f=$(awk '$1=="tests"{print $5}' "$log" | tail -1)
        elif [ -n "$line" ]; then
            echo "-- $label ${log#$dir/}: $line"
            read -r p _ f _ <<<"$line"
        else
            continue
        fi
        total_pass=$((total_pass + ${p:-0}))
        total_fail=$((total_fail + ${f:-0}))
    done
}

check_in() {  # check_in BUILDDIR LABEL [env...]
    local dir=$1 label=$2; shift 2
    local rc=0
    (cd "$dir" && env "$@" make -s -j"$jobs" check) || rc=$?
    collect "$dir" "$label"
    if [ $rc -ne 0 ]; then
        find "$dir" -name test-suite.log -exec cat {} + 2>/dev/null | tail -200
    fi
    return $rc
}

layering() {  # plugins see only the SDK and public headers
    ! grep -rnE '#include +"(\.\./)*core/|#include +"internal\.h"|#include +"negotiate\.h"' plugins sdk/template sdk/check
}

step "build (gcc, -Werror)" build _build --enable-werror
step "tests" check_in _build plain
step "layering: plugins include no core header" layering
step "build (ASan+UBSan)" build _build-asan --enable-werror \
    CFLAGS="-g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
    LDFLAGS="-fsanitize=address,undefined"
step "tests (ASan+UBSan)" check_in _build-asan asan \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Only the fuzz targets are built there: shared objects linked with -z defs
# cannot take clang's sanitizer runtime.
configure_only() {  # configure_only DIR [configure args...]
    local dir=$1; shift
    rm -rf "$dir" && mkdir -p "$dir" && (cd "$dir" && "$top/configure" -q "$@")
}
step "fuzz build (clang)" configure_only _build-fuzz --enable-fuzz CC=clang \
    CFLAGS="-g -O1 -fsanitize=fuzzer-no-link,address,undefined"
step "fuzz smoke runs" env UBSAN_OPTIONS=halt_on_error=1 make -s -j"$jobs" -C _build-fuzz fuzz-smoke
step "template out of tree" bash tests/integration/template.sh "$top"
step "distcheck" make -s -C _build distcheck DISTCHECK_CONFIGURE_FLAGS=--enable-werror

echo
echo "== summary"
for s in "${failed_steps[@]}"; do echo "failed step: $s"; done
echo "tests: $total_pass passed, $total_fail failed"
echo "$total_pass passed, $total_fail failed"
[ ${#failed_steps[@]} -eq 0 ] && [ "$total_fail" -eq 0 ] && [ "$total_pass" -gt 0 ]
