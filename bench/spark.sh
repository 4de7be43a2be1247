#!/usr/bin/env bash
# Runs lavoir under PySpark (local[2], RDD.pipe) on a generated corpus and
# checks it against a direct run: examples/spark/test_spark.py. By hand only
# (not CI): the first run installs pyspark (~300 MB) into target/spark-venv.
#
#   bash bench/spark.sh            # 2 MB corpus from gen_corpus
#   MB=20 PARTITIONS=8 bash bench/spark.sh
#
# Needs python3 (3.9+) and Java 17+ (`java` on PATH, or JAVA_HOME).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MB="${MB:-2}"
PARTITIONS="${PARTITIONS:-4}"
VENV=target/spark-venv
# Local mode: keep the driver on loopback (and quiet its hostname warning).
export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

cargo build --release --quiet
cargo build --release --quiet --example gen_corpus

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import pyspark' 2>/dev/null; then
    t=$(now)
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet pyspark
    echo "pip install pyspark: $(since "$t") s"
fi
echo "pyspark $("$VENV/bin/python" -c 'import pyspark; print(pyspark.__version__)'), $(java -version 2>&1 | head -n 1)"

corpus=target/spark-corpus-${MB}mb.jsonl
target/release/examples/gen_corpus --mb "$MB" --seed 1 > "$corpus"

t=$(now)
"$VENV/bin/python" examples/spark/test_spark.py \
    --lavoir target/release/lavoir --corpus "$corpus" --partitions "$PARTITIONS"
echo "whole test (JVM start, direct run, checks): $(since "$t") s"
