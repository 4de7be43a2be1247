#!/usr/bin/env bash
# How fast a one-thread run can be, whatever the stages do: the same
# corpus through four runs that each leave out more of the work.
#
#   bench/bound.sh [MB]      # default 100 MB of generated JSONL; RUNS=3
#
#   no stages         `stages: []`: records read, text copied, written
#                     with empty annotations
#   looks only        the default pipeline on its own clean output: every
#                     stage reads every line, (almost) none changes any
#   default pipeline  the run of bench/run.sh at one thread
#
# MB/s is the input's size over the best run's wall time; "after
# start-up" first takes off the best time of the same run on an empty
# input (the pipeline built, nothing read). The gap between
# "no stages" and "looks only" is what looking at the text costs; the
# gap between "looks only" and the default pipeline, what making,
# recording and writing the changes costs (docs/performance.md, "The
# gap to the target").
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${1:-100}
RUNS=${RUNS:-3}

cargo build --release --quiet --bin lavoir
source bench/corpus.sh
CORPUS=$(corpus "$MB")
WORK=target/bench/bound
mkdir -p "$WORK"
: > "$WORK/empty.jsonl"
printf 'stages: []\n' > "$WORK/no-stages.yaml"
CLEAN=$WORK/clean-$MB.jsonl
if [[ ! -s $CLEAN || $CLEAN -ot target/release/lavoir ]]; then
    # The clean text as the input of another run: id and text only.
    target/release/lavoir run -q --jsonl "$CORPUS" --out - |
        python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    sys.stdout.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
' > "$CLEAN.tmp"
    mv "$CLEAN.tmp" "$CLEAN"
fi

echo "lavoir $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d), one thread, best of $RUNS"
printf '%-18s %8s %8s %8s %9s %9s %20s\n' run input start-up seconds "CPU s" "MB/s" "MB/s after start-up"
row() {
    local name=$1 input=$2 start secs cpu bytes
    shift 2
    read -r start _ <<< "$(best_run "$RUNS" "$WORK/empty.jsonl" -j 1 "$@")"
    read -r secs cpu _ <<< "$(best_run "$RUNS" "$input" -j 1 "$@")"
    bytes=$(stat -c %s "$input")
    printf '%-18s %8s %8s %8s %9s %9s %20s\n' "$name" "$((bytes / 1000000)) MB" "$start" "$secs" "$cpu" \
        "$(awk "BEGIN{printf \"%.1f\", $bytes / 1e6 / $secs}")" \
        "$(awk "BEGIN{d = $secs - $start; if (d > 0) printf \"%.1f\", $bytes / 1e6 / d; else print \"-\"}")"
}
row "no stages" "$CORPUS" -c "$WORK/no-stages.yaml"
row "looks only" "$CLEAN"
row "default pipeline" "$CORPUS"
