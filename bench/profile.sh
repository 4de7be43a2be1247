#!/usr/bin/env bash
# Where the time goes: a sampling profile (perf, cpu-clock) of
# `lavoir run --jsonl` on one thread over the generated corpus.
#
#   bench/profile.sh [MB]     # default 100 MB; TOP=40 for more lines
#
# Prints the functions with the most samples (their own time, inlined
# code included), then the share of each stage and of the JSON in and
# out (a sample counts for every one of them on its call stack).
# Time, not instructions: a DFA's search loop or a look-up out of the
# cache takes several times the share of the run's time that it takes of
# its instructions (valgrind --tool=callgrind counts those; see
# docs/performance.md). Needs `perf`; the machine must allow
# unprivileged sampling (kernel.perf_event_paranoid <= 2) or run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

MB=${1:-100}
TOP=${TOP:-25}
FREQ=${FREQ:-997}
command -v perf > /dev/null || { echo "bench/profile.sh needs perf" >&2; exit 2; }

cargo build --release --quiet --bin lavoir
source bench/corpus.sh
CORPUS=$(corpus "$MB")
DATA=target/bench/perf.data

perf record -q -e cpu-clock -F "$FREQ" --call-graph dwarf,8192 -o "$DATA" \
    target/release/lavoir run -q --jsonl "$CORPUS" --out /dev/null -j 1 2> /dev/null
echo "lavoir $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d), $CORPUS, 1 thread"
perf script -i "$DATA" -F ip,sym 2> /dev/null | python3 bench/profile.py "$TOP"
