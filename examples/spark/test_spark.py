"""End-to-end test of clean_corpus.py: Spark (local[2], several partitions)
must give the same records, in the same order, as lavoir run directly.

    python examples/spark/test_spark.py [--lavoir BIN] [--corpus FILE.jsonl] [--partitions N]

Without --corpus, a corpus of a few hundred records is made from seeds/*.txt.
Needs pyspark and Java 17+; exits non-zero on failure.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import clean_corpus  # noqa: E402


def make_corpus(path, n=300):
    """n records from the seeds, varied so that records differ: paragraphs
    rotated, a junk line or two, now and then CRLF line ends or no-break spaces."""
    seeds = [open(p, encoding="utf-8").read() for p in sorted(glob.glob(os.path.join(ROOT, "seeds", "*.txt")))]
    assert seeds, "no seeds/*.txt"
    junk = ["Publié par", "Partager sur Facebook", "Lire aussi : la suite", "1 254 vues", "(Avec AFP)"]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            paras = seeds[i % len(seeds)].split("\n\n")
            k = (i // len(seeds)) % len(paras)
            paras = paras[k:] + paras[:k]
            paras.insert(i % (len(paras) + 1), junk[i % len(junk)])
            text = "\n\n".join(paras)
            if i % 7 == 3:
                text = text.replace("\n", "\r\n")
            if i % 11 == 5:
                text = text.replace(" :", "\u00a0:")
            rec = {"id": f"doc-{i:05d}", "text": text, "metadata": {"n": i}}
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def read_lines(path):
    with open(path, "rb") as f:
        # Split on \n only: the text may hold U+2028, which str.splitlines() would cut.
        return [l.decode("utf-8") for l in f.read().split(b"\n") if l]


def part_files(out_dir):
    parts = glob.glob(os.path.join(out_dir, "part-*"))
    return sorted(parts, key=lambda p: int(os.path.basename(p).split("-")[1].split(".")[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lavoir", default=os.environ.get("LAVOIR") or os.path.join(ROOT, "target", "release", "lavoir"))
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    lavoir = os.path.abspath(args.lavoir)
    config = os.path.join(ROOT, "pipeline.yaml")
    assert os.access(lavoir, os.X_OK), f"no lavoir binary at {lavoir}"

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark import SparkConf, SparkContext

    with tempfile.TemporaryDirectory(prefix="lavoir-spark-") as tmp:
        corpus = args.corpus or os.path.join(tmp, "corpus.jsonl")
        if not args.corpus:
            make_corpus(corpus)
        inputs = read_lines(corpus)
        in_ids = [json.loads(l)["id"] for l in inputs]

        # Reference: the same binary and pipeline, run directly on the whole file.
        t0 = time.perf_counter()
        cmd = [lavoir, "run", "--jsonl", corpus, "-q", "-j", "2", "--config", config]
        direct = subprocess.run(cmd, stdout=subprocess.PIPE, check=True).stdout
        direct_s = time.perf_counter() - t0
        expected = [json.loads(l) for l in direct.decode("utf-8").split("\n") if l]

        out_dir = os.path.join(tmp, "out")
        t0 = time.perf_counter()
        conf = SparkConf().set("spark.ui.enabled", "false").set("spark.ui.showConsoleProgress", "false")
        sc = SparkContext("local[2]", "lavoir-spark-test", conf=conf)
        sc.setLogLevel("ERROR")
        startup_s = time.perf_counter() - t0
        try:
            nparts = sc.textFile(corpus, minPartitions=args.partitions).getNumPartitions()
            t0 = time.perf_counter()
            clean_corpus.clean(sc, corpus, out_dir, lavoir, args.partitions, config)
            job_s = time.perf_counter() - t0

            # A folder of several files: records come back in file name order.
            in_dir = os.path.join(tmp, "in")
            os.mkdir(in_dir)
            third = len(inputs) // 3 + 1
            for k in reversed(range(3)):
                with open(os.path.join(in_dir, f"shard-{k}.jsonl"), "w", encoding="utf-8") as f:
                    f.writelines(l + "\n" for l in inputs[k * third:(k + 1) * third])
            clean_corpus.clean(sc, in_dir, os.path.join(tmp, "dir-out"), lavoir, args.partitions, config)
            dir_ids = [json.loads(l)["id"] for p in part_files(os.path.join(tmp, "dir-out")) for l in read_lines(p)]

            # A line that is not a record makes lavoir exit 2: with checkCode the job fails.
            print("expect a lavoir error on a bad line (logs silenced):", flush=True)
            sc.setLogLevel("OFF")
            bad = os.path.join(tmp, "bad.jsonl")
            with open(bad, "w", encoding="utf-8") as f:
                f.write(inputs[0] + "\nnot json\n" + inputs[1] + "\n")
            try:
                clean_corpus.clean(sc, bad, os.path.join(tmp, "bad-out"), lavoir, 1, config)
                bad_failed = False
            except Exception as e:  # py4j's Py4JJavaError, wrapping lavoir's exit code
                bad_failed = "exited with error code 2" in str(e)
        finally:
            sc.stop()

        parts = part_files(out_dir)
        got = [json.loads(l) for p in parts for l in read_lines(p)]

        failures = []

        def check(cond, msg):
            if not cond:
                failures.append(msg)

        check(dir_ids == in_ids, "a folder of files did not come back in file name order")
        check(bad_failed, "a bad line did not fail the job")
        check(nparts >= 2, f"only {nparts} partition(s): the test must split the input")
        check(len(parts) == nparts, f"{len(parts)} part files for {nparts} partitions")
        check(len(got) == len(inputs), f"{len(got)} records out of spark for {len(inputs)} in")
        check(len(expected) == len(inputs), f"{len(expected)} records out of lavoir for {len(inputs)} in")
        check([r.get("id") for r in got] == in_ids, "ids out of spark are not the input ids in order")
        check(all("lavoir" in r for r in got), "a record has no `lavoir` field")
        diff = [e["id"] for g, e in zip(got, expected) if g.get("text") != e.get("text")]
        check(not diff, f"{len(diff)} text(s) differ from the direct run, first: {diff[:3]}")
        diff = [e["id"] for g, e in zip(got, expected) if g != e]
        check(not diff, f"{len(diff)} record(s) differ from the direct run, first: {diff[:3]}")
        changed = sum(json.loads(i)["text"] != g.get("text") for i, g in zip(inputs, got))
        check(changed > 0, "lavoir changed no text: is the pipe doing anything?")

        mb = os.path.getsize(corpus) / 1e6
        print(f"corpus: {len(inputs)} records, {mb:.1f} MB, {nparts} partitions -> {len(parts)} part files")
        print(f"spark startup: {startup_s:.2f} s")
        print(f"spark job: {job_s:.2f} s, {len(inputs) / job_s:.0f} records/s, {mb / job_s:.2f} MB/s")
        print(f"direct lavoir -j 2: {direct_s:.2f} s, {len(inputs) / direct_s:.0f} records/s")
        if failures:
            for f in failures:
                print("FAIL:", f)
            print("spark: 0 passed, 1 failed")
            return 1
        print("spark: 1 passed, 0 failed")
        return 0


if __name__ == "__main__":
    sys.exit(main())
