"""Clean a JSONL corpus with lavoir, using PySpark in local mode.

    python examples/spark/clean_corpus.py INPUT OUTPUT_DIR [LAVOIR] [--partitions N] [--config FILE]

INPUT is a JSONL file, folder or glob (`.gz` works, but a gzip file is one
partition); OUTPUT_DIR must not exist; LAVOIR is the binary (default: env
`LAVOIR`, else `lavoir` on PATH). Each partition goes through one
`lavoir run --jsonl - -q -j 1` process: Spark gives the parallelism (one
process per task slot), so each process uses one thread.

Order: `sc.textFile` cuts the input into partitions that are ordered,
contiguous byte ranges of each file, each read line by line; the files of a
glob come in name order (those of a bare folder would come in the file
system's listing order, so a local folder is turned into `folder/*`);
`RDD.pipe` writes a partition's lines to the process and reads its output
lines back in order (lavoir writes one record per input record, in order);
`saveAsTextFile` writes partition i to `part-0000i`. So reading the part
files in name order gives the records in input order.

Workers: the binary runs where the tasks run. In local mode that is this
machine, so a path is enough. On a cluster, install it at the same path on
every node, or ship it with `spark-submit --files /path/to/lavoir` and find
it in the task with `SparkFiles.get("lavoir")` (see README.md).
"""

import argparse
import os
import shlex
import shutil
import sys


def lavoir_command(lavoir, config=None):
    """The command each partition is piped through, as an argument list."""
    cmd = [lavoir, "run", "--jsonl", "-", "-q", "-j", "1"]
    if config:
        # Without -c, lavoir uses ./pipeline.yaml of the worker's working
        # directory if there is one, else its built-in pipeline.
        cmd += ["--config", config]
    return cmd


def clean(sc, input_path, output_dir, lavoir, min_partitions=None, config=None):
    """Pipe the records of `input_path` through lavoir into `output_dir`."""
    if os.path.isdir(input_path):
        input_path = os.path.join(input_path, "*")  # name order, not listing order
    lines = sc.textFile(input_path, minPartitions=min_partitions)
    # PySpark's pipe() takes a string, not a list: it runs
    # Popen(shlex.split(command), env=env) with no shell, so shlex.join gives
    # back exactly our argument list (paths with spaces are fine). env
    # defaults to {}: the process gets an empty environment, hence the
    # absolute path to the binary.
    # checkCode=True: a partition whose process exits non-zero fails its task
    # (and the job). lavoir exits 2 when a line is not a valid record; it
    # drops that line, so the output would be one record short.
    cleaned = lines.pipe(shlex.join(lavoir_command(lavoir, config)), checkCode=True)
    cleaned.saveAsTextFile(output_dir)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("lavoir", nargs="?", default=os.environ.get("LAVOIR") or shutil.which("lavoir"))
    ap.add_argument("--partitions", type=int, default=None, help="minimum number of partitions")
    ap.add_argument("--config", default=None, help="pipeline file passed to lavoir (-c)")
    args = ap.parse_args(argv)
    if not args.lavoir:
        ap.error("no lavoir binary: pass its path or set LAVOIR")

    # The Python workers must be this interpreter (the one that has pyspark).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark import SparkContext

    sc = SparkContext("local[2]", "lavoir-clean")
    sc.setLogLevel("WARN")
    try:
        clean(sc, args.input, args.output, os.path.abspath(args.lavoir), args.partitions,
              os.path.abspath(args.config) if args.config else None)
    finally:
        sc.stop()


if __name__ == "__main__":
    main()
