#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 60) each, one after the other,
# with a single libFuzzer process at a time. Exits non-zero if a target left
# a crash, timeout or out-of-memory artifact, or (pipeline target) saved an
# input on which cleaning is not idempotent.
#
#   fuzz/run.sh [SECONDS]
#
# Environment:
#   TOOLCHAIN=nightly        toolchain for cargo-fuzz
#   SANITIZER=none           none (about 10x faster here) or address
#   TARGETS="pipeline config restore_record"
#   LAVOIR_FUZZ_IDEMPOTENCE=log   pipeline target: log (save one input per
#                            kind of idempotence failure and go on), panic, off
# Needs cargo-fuzz and a nightly toolchain (see fuzz/README.md).
set -euo pipefail

SECONDS_PER_TARGET="${1:-60}"
TOOLCHAIN="${TOOLCHAIN:-nightly}"
SANITIZER="${SANITIZER:-none}"
TARGETS="${TARGETS:-pipeline config restore_record}"
export LAVOIR_FUZZ_IDEMPOTENCE="${LAVOIR_FUZZ_IDEMPOTENCE:-log}"
export LAVOIR_FUZZ_IDEMPOTENCE_DIR="artifacts/pipeline/idempotence"

# Work inside fuzz/: libFuzzer's -jobs mode writes fuzz-<N>.log in the
# current folder, and every path below is relative to fuzz/.
cd "$(dirname "${BASH_SOURCE[0]}")"

case "$SANITIZER" in
    address) target_dir=target ;;
    *) target_dir="target/san-$SANITIZER" ;;
esac
fuzz=(cargo "+$TOOLCHAIN" fuzz)
opts=(--fuzz-dir . -O --sanitizer "$SANITIZER" --target-dir "$target_dir")

max_len() {
    case "$1" in
        pipeline) echo 65536 ;;
        config) echo 8192 ;;
        restore_record) echo 16384 ;;
        *) echo 4096 ;;
    esac
}

count_files() { find "$1" -type f 2>/dev/null | wc -l; }

"${fuzz[@]}" build "${opts[@]}"

declare -A status
failed=0
for target in $TARGETS; do
    corpus="corpus/$target"
    artifacts="artifacts/$target"
    mkdir -p "$corpus" "$artifacts" logs
    if [ -d "seeds/$target" ]; then
        cp -n "seeds/$target"/* "$corpus"/ 2>/dev/null || true
    fi
    before=$(count_files "$artifacts")
    echo "=== $target: ${SECONDS_PER_TARGET}s ==="
    rc=0
    "${fuzz[@]}" run "${opts[@]}" "$target" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -max_len="$(max_len "$target")" \
        -jobs=1 -workers=1 \
        -print_final_stats=1 \
        -artifact_prefix="$artifacts/" || rc=$?
    [ -f fuzz-0.log ] && mv fuzz-0.log "logs/$target-$(date +%Y%m%d-%H%M%S).log"
    after=$(count_files "$artifacts")
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        status[$target]="FAILED (exit $rc, $((after - before)) new file(s) in fuzz/$artifacts)"
        failed=1
    else
        status[$target]="ok"
    fi
done

echo
echo "=== summary (${SECONDS_PER_TARGET}s per target, sanitizer $SANITIZER) ==="
for target in $TARGETS; do
    echo "$target: ${status[$target]}"
done
echo "libFuzzer logs: fuzz/logs/"
if [ "$failed" -ne 0 ]; then
    echo
    echo "Reproduce: cargo +$TOOLCHAIN fuzz run ${opts[*]} <target> fuzz/artifacts/<target>/<file>"
    echo "Minimize:  cargo +$TOOLCHAIN fuzz tmin ${opts[*]} <target> fuzz/artifacts/<target>/<file>"
    echo "(run both from fuzz/, or drop --fuzz-dir . when running from the repository root)"
fi
exit "$failed"
