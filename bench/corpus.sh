# Sourced by the bench scripts: `corpus MB` prints the path of the
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
