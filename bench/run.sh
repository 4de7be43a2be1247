#!/usr/bin/env bash
# Whole-run benchmark of `lavoir run --jsonl` with the default pipeline:
# MB/s and peak RSS at 1 and 2 threads, best of RUNS runs.
#
#   bench/run.sh [MB]        # default 100 MB of generated JSONL
#   RUNS=1 THREADS=2 MAX_RSS_MB=100 bench/run.sh 1000
#                            # 1 GB: fails unless peak RSS stays under 100 MB
#
# CPU seconds (user + system) are those of the best run: when two threads
# take about as much CPU time as one, the work itself scales, and a
# shortfall in wall time is the machine's (a shared or busy second core).
#
# The corpus comes from examples/gen_corpus.rs (deterministic, seed 1) and
# is kept in target/bench/ for the next run.
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${1:-100}
RUNS=${RUNS:-3}
MAX_RSS_MB=${MAX_RSS_MB:-}
THREADS=${THREADS:-"1 2"}

cargo build --release --quiet --bin lavoir
source bench/corpus.sh
CORPUS=$(corpus "$MB")
BYTES=$(stat -c %s "$CORPUS")

echo "lavoir $(git describe --always --dirty 2>/dev/null || echo '?'), $(nproc) cores, $(date -u +%Y-%m-%d)"
echo "corpus: $CORPUS, $((BYTES / 1000000)) MB, $(wc -l < "$CORPUS") records; best of $RUNS"
printf '%-8s %10s %10s %14s %12s\n' threads seconds MB/s "peak RSS MB" "CPU seconds"
declare -A RATE
failed=0
for j in $THREADS; do
    read -r best cpu rss <<< "$(best_run "$RUNS" "$CORPUS" -j "$j")"
    RATE[$j]=$(awk "BEGIN{printf \"%.1f\", $BYTES / 1e6 / $best}")
    printf '%-8s %10s %10s %14s %12s\n' "$j" "$best" "${RATE[$j]}" \
        "$(awk "BEGIN{printf \"%.0f\", $rss / 1024}")" "$cpu"
    if [[ -n $MAX_RSS_MB ]] && ((rss > MAX_RSS_MB * 1024)); then
        echo "FAIL: peak RSS $((rss / 1024)) MB at $j threads, over $MAX_RSS_MB MB" >&2
        failed=1
    fi
done
if [[ -n ${RATE[1]:-} && -n ${RATE[2]:-} ]]; then
    awk "BEGIN{printf \"scaling 1 -> 2 threads: %.2fx (linear: 2.00x)\n\", ${RATE[2]} / ${RATE[1]}}"
fi
exit $failed
