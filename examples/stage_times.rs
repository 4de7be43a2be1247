//! Throughput of the default pipeline on the seeds, in memory, best of
//! five rounds: `cargo run --release --example stage_times [REPEAT] [DIR]`
//! (DIR defaults to `seeds`; `tests/golden` times text that is already clean).

use std::time::Instant;

fn main() {
    let repeat: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let (_, pipeline) =
        lavoir::Pipeline::load(Some(std::path::Path::new("pipeline.yaml"))).unwrap();
    let mut docs = Vec::new();
    let dir = std::env::args()
        .nth(2)
        .unwrap_or_else(|| "seeds".to_string());
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            docs.push(std::fs::read(path).unwrap());
        }
    }
    let bytes: usize = docs.iter().map(Vec::len).sum::<usize>() * repeat;
    let mut best = f64::MAX;
    let mut best_json = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        for _ in 0..repeat {
            for d in &docs {
                std::hint::black_box(pipeline.clean_bytes("x", d).unwrap());
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for _ in 0..repeat {
            for d in &docs {
                let doc = pipeline.clean_bytes("x", d).unwrap();
                std::hint::black_box(serde_json::to_vec(&doc).unwrap());
            }
        }
        best_json = best_json.min(start.elapsed().as_secs_f64());
    }
    let mb = bytes as f64 / 1e6;
    println!(
        "clean: {:.1} MB/s; clean + JSON: {:.1} MB/s ({mb:.1} MB)",
        mb / best,
        mb / best_json
    );
}
