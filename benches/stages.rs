//! Per-stage benchmarks on a fixed document set (the five seeds):
//! `cargo bench --bench stages`.
//!
//! Each stage is timed on the text as the stages before it leave it, so
//! the figures add up to a whole run; `whole` is the full pipeline with
//! the edit log, `json` the serialization of the annotated documents.
//! Throughput is in bytes of the seeds per second.

use std::path::Path;
use std::sync::LazyLock;

use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use lavoir::Pipeline;
use lavoir::edits::{ChangeError, WorkDoc};

fn main() {
    divan::main();
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

static PIPELINE: LazyLock<Pipeline> = LazyLock::new(|| {
    Pipeline::load(Some(&repo().join("pipeline.yaml")))
        .expect("pipeline.yaml is valid")
        .1
});

/// The seeds, decoded.
static SEEDS: LazyLock<Vec<String>> = LazyLock::new(|| {
    let mut paths: Vec<_> = std::fs::read_dir(repo().join("seeds"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
});

fn seed_bytes() -> BytesCount {
    BytesCount::new(SEEDS.iter().map(String::len).sum::<usize>())
}

/// The seeds as the first `stages` stages leave them.
fn after(stages: usize) -> Vec<WorkDoc> {
    SEEDS
        .iter()
        .map(|text| {
            let mut doc = WorkDoc::new(text.clone());
            for stage in &PIPELINE.stages()[..stages] {
                doc.run_stage::<ChangeError>(stage.name(), |ctx| {
                    stage.process(ctx);
                    Ok(())
                })
                .unwrap();
            }
            doc
        })
        .collect()
}

const STAGES: &[&str] = &[
    "decode",
    "unicode",
    "mojibake",
    "boilerplate",
    "metadata",
    "dedup",
    "structure",
    "dehyphenate",
    "typography",
    "spelling",
];

#[divan::bench(args = STAGES)]
fn stage(bencher: Bencher, name: &str) {
    let index = PIPELINE
        .stage_names()
        .iter()
        .position(|s| *s == name)
        .expect("the stage is in pipeline.yaml");
    let stage = &PIPELINE.stages()[index];
    bencher
        .counter(seed_bytes())
        .with_inputs(|| after(index))
        .bench_local_values(|mut docs| {
            for doc in &mut docs {
                doc.run_stage::<ChangeError>(stage.name(), |ctx| {
                    stage.process(ctx);
                    Ok(())
                })
                .unwrap();
            }
            docs
        });
}

/// Turning the stages' changes into the edit log (positions in the input).
#[divan::bench]
fn finish(bencher: Bencher) {
    let stages = PIPELINE.stages().len();
    bencher
        .counter(seed_bytes())
        .with_inputs(|| after(stages))
        .bench_local_values(|docs| docs.into_iter().map(WorkDoc::finish).collect::<Vec<_>>());
}

#[divan::bench]
fn whole(bencher: Bencher) {
    bencher.counter(seed_bytes()).bench(|| {
        SEEDS
            .iter()
            .map(|t| PIPELINE.clean(black_box(t)).unwrap())
            .collect::<Vec<_>>()
    });
}

#[divan::bench]
fn json(bencher: Bencher) {
    let docs: Vec<_> = SEEDS.iter().map(|t| PIPELINE.clean(t).unwrap()).collect();
    bencher
        .counter(seed_bytes())
        .bench(|| serde_json::to_vec(black_box(&docs)).unwrap());
}
