#!/usr/bin/env bash
# lavoir against the pipeline a user would otherwise write in Python (bench/peer.py:
# ftfy + NFC + junk-line regexes + repeated lines + name variants + spaces), on the
# same generated corpus, one thread / one process each.
#
#   bench/peer.sh [MB]        # default 50 MB; RUNS=3 bench/peer.sh keeps the best of 3
#
# Everything goes under target/bench/: corpus-MB.jsonl (kept between runs) and
# venv/ (a private Python venv with ftfy and PyYAML from PyPI).
set -euo pipefail

MB=${1:-50}
RUNS=${RUNS:-1}
cd "$(dirname "${BASH_SOURCE[0]}")/.."      # the repo root, whatever the cwd
BENCH=target/bench
VENV=$BENCH/venv
mkdir -p "$BENCH"

echo "== building lavoir (release)" >&2
cargo build --release --quiet
source bench/corpus.sh
CORPUS=$(corpus "$MB")

if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import ftfy, yaml' 2>/dev/null; then
    echo "== creating $VENV and installing ftfy, pyyaml from PyPI" >&2
    python3 -m venv "$VENV"                 # no --system-site-packages
    "$VENV/bin/pip" install --quiet --disable-pip-version-check ftfy pyyaml
fi
FTFY=$("$VENV/bin/python" -c 'import ftfy; print(ftfy.__version__)')
PY=$("$VENV/bin/python" -c 'import sys; print(sys.version.split()[0])')

BYTES=$(wc -c < "$CORPUS")
TIMES=$BENCH/peer-time.txt

# bench NAME CMD...: runs CMD $RUNS times under /usr/bin/time, keeps the fastest run,
# prints "NAME SECONDS PEAK_RSS_KB".
bench() {
    local name=$1 best="" rss="" s m; shift
    for ((i = 1; i <= RUNS; i++)); do
        echo "== $name, run $i/$RUNS" >&2
        /usr/bin/time -f "%e %M" -o "$TIMES" "$@"
        read -r s m < "$TIMES"
        if [[ -z $best ]] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$s rss=$m
        fi
    done
    echo "$name $best $rss"
}

L=$(bench lavoir target/release/lavoir run -q --jsonl "$CORPUS" --out /dev/null -j 1)
P=$(bench peer "$VENV/bin/python" bench/peer.py "$CORPUS" /dev/null)

echo
echo "corpus: $CORPUS ($BYTES bytes), best of $RUNS; peer: Python $PY, ftfy $FTFY"
printf '%s\n%s\n' "$L" "$P" | awk -v bytes="$BYTES" '
    BEGIN { printf "%-8s %9s %9s %12s\n", "tool", "seconds", "MB/s", "peak RSS MB" }
    { printf "%-8s %9.2f %9.2f %12.1f\n", $1, $2, bytes / ($2 > 0 ? $2 : 0.01) / 1e6, $3 / 1024; t[$1] = $2 }
    END { printf "ratio lavoir/peer: %.1fx\n", t["peer"] / (t["lavoir"] > 0 ? t["lavoir"] : 0.01) }'
