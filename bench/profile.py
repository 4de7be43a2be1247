"""Reads `perf script -F ip,sym` (call stacks, leaf first, blank lines
between samples) on stdin; prints the top functions by own samples and
the share of each stage. Used by bench/profile.sh."""
import collections
import re
import sys

top = int(sys.argv[1]) if len(sys.argv) > 1 else 25
own = collections.Counter()
within = collections.Counter()
samples = 0
# Frames that stand for a part of the run (inlined frames count too).
PARTS = [
    ("stage " + s, re.compile(r"lavoir::stages::%s::" % s))
    for s in ["decode", "unicode", "mojibake", "dehyphenate"]
] + [
    # boilerplate and metadata run the same code, folded into one.
    ("stages boilerplate + metadata (rules::RuleSet)", re.compile(r"lavoir::stages::rules::RuleSet::process")),
] + [
    ("stage " + s, re.compile(r"lavoir::stages::%s::" % s))
    for s in ["spelling", "typography", "structure", "dedup"]
] + [
    ("applying changes (edits::WorkDoc::apply)", re.compile(r"lavoir::edits::WorkDoc::apply")),
    ("edit log to annotations (edits::WorkDoc::finish)", re.compile(r"lavoir::edits::WorkDoc::finish")),
    ("JSON in (jsonl::parse_record)", re.compile(r"lavoir::jsonl::parse_record")),
    ("JSON out (json_writer)", re.compile(r"lavoir::json_writer::")),
    ("start-up (config, regex and lexicon compilation)", re.compile(
        r"lavoir::cli::load|lavoir::config::|RuleSet::(load|build)|Spelling::build|"
        r"WordList::new|regex::builders|regex_automata::nfa::thompson::compiler")),
]


def name(line):
    # "  ffffffff8123 symbol+0x12" or "  8123 symbol+0x12 (inlined)"
    parts = line.strip().split(" ", 1)
    if len(parts) < 2:
        return "?"
    return re.sub(r"\+0x[0-9a-f]+$", "", parts[1].replace(" (inlined)", "").strip())


def flush(frames):
    global samples
    if not frames:
        return
    samples += 1
    # An inlined frame has a bare name: `finish` called by clean_decoded
    # is the edit log's.
    frames = [
        "lavoir::edits::WorkDoc::finish"
        if f == "finish" and i + 1 < len(frames) and "clean_decoded" in frames[i + 1]
        else f
        for i, f in enumerate(frames)
    ]
    own[frames[0]] += 1
    for label, pattern in PARTS:
        if any(pattern.search(f) for f in frames):
            within[label] += 1


frames = []
for line in sys.stdin:
    if not line.strip():
        flush(frames)
        frames = []
    else:
        frames.append(name(line))
flush(frames)

if samples == 0:
    sys.exit("no samples (is perf allowed to sample here?)")
print(f"{samples} samples\n\nown time (top {top}):")
for f, n in own.most_common(top):
    print(f"{100 * n / samples:6.1f}%  {f[:110]}")
print("\nwithin (samples with it on the call stack):")
for label, _ in PARTS:
    print(f"{100 * within[label] / samples:6.1f}%  {label}")
