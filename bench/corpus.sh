# Sourced by the bench scripts. `corpus MB` prints the path of the
# generated corpus of MB megabytes (examples/gen_corpus.rs, seed 1),
# making it first if target/bench/ does not have it yet.
corpus() {
    local path=target/bench/corpus-$1.jsonl
    if [[ ! -s $path ]]; then
        mkdir -p target/bench
        echo "generating $path ($1 MB, seed 1)…" >&2
        cargo run --release --quiet --example gen_corpus -- --mb "$1" --seed 1 > "$path.tmp"
        mv "$path.tmp" "$path"
    fi
    echo "$path"
}

# `best_run RUNS INPUT [ARGS...]` runs `lavoir run -q --jsonl INPUT --out
# /dev/null ARGS` RUNS times and prints "seconds cpu-seconds peak-rss-kb":
# the wall and CPU (user + system) seconds of the quickest run, the peak
# RSS of them all.
best_run() {
    local runs=$1 input=$2 best="" cpu="" rss=0 secs kb user sys
    shift 2
    for _ in $(seq "$runs"); do
        read -r secs kb user sys <<< "$( { /usr/bin/time -f '%e %M %U %S' target/release/lavoir \
            run -q --jsonl "$input" --out /dev/null "$@" 2>&1 >/dev/null; } | tail -1)"
        if [[ -z $best ]] || awk "BEGIN{exit !($secs < $best)}"; then
            best=$secs
            cpu=$(awk "BEGIN{printf \"%.2f\", $user + $sys}")
        fi
        if ((kb > rss)); then rss=$kb; fi
    done
    echo "$best $cpu $rss"
}
