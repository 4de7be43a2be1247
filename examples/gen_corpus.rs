//! Generates a realistic JSONL corpus from the seeds, for benchmarks:
//! `cargo run --release --example gen_corpus -- --mb 100 --seed 1 > corpus.jsonl`
//!
//! Each record (`id`, `text`, `metadata`) is a seed article with its
//! paragraphs partly reordered, names respelled with common variants,
//! numbers changed, junk lines inserted (prompts, captions, widgets,
//! datelines, counters…), and now and then mojibake, no-break spaces or
//! CRLF line ends. The same seed gives the same corpus.

use std::io::{self, Write};

/// xorshift64*: small, fast and reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const JUNK: &[&str] = &[
    "Customize this title in french",
    "Make this article seo compatible, add subheadings, at least 700 words",
    "Publié par",
    "Laisser un commentaire",
    "Source link -57",
    "Partager sur Facebook",
    "Lire aussi : Téhéran hausse le ton face à Washington",
    "À voir : Le ministre iranien en visite à Damas",
    "Copyright 2024 . All Rights Reserved.",
    "Tous droits réservés",
    "724",
    "1 254 vues",
    "AFP",
    "22/01/2024 mis à jour: 20:18",
    "Publié le 14/04/2024 à 09h32",
    "Par Camille Martin",
    "(Avec AFP)",
    "jpost.com",
    "Accueil > Monde > Moyen-Orient",
    "Temps de lecture : 3 min",
    "Des manifestants à Bagdad, le 3 janvier 2020. © AFP",
];

const VARIANTS: &[(&str, &[&str])] = &[
    ("Soleimani", &["Suleimani", "Solimani", "Soleymani"]),
    ("Bagdad", &["Baghdad", "BAGHDAD"]),
    ("Téhéran", &["Tehran", "Teheran"]),
    ("États-Unis", &["Etats-Unis"]),
    ("Qaani", &["Ghaani"]),
    ("Ormuz", &["Hormuz"]),
    ("Daech", &["Daesh"]),
    ("Gaza", &["Ghaza"]),
    ("Israël", &["Israel"]),
];

/// UTF-8 read as Windows-1252: what the mojibake stage repairs.
fn garble(s: &str) -> String {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(s.as_bytes())
        .0
        .into_owned()
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn article(rng: &mut Rng, seed: &str) -> String {
    let mut paragraphs: Vec<String> = seed
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    // Reorder a few body paragraphs (the first line stays first).
    for _ in 0..paragraphs.len() / 3 {
        let (a, b) = (
            1 + rng.below(paragraphs.len().max(2) - 1),
            1 + rng.below(paragraphs.len().max(2) - 1),
        );
        if a < paragraphs.len() && b < paragraphs.len() {
            paragraphs.swap(a, b);
        }
    }
    for p in paragraphs.iter_mut() {
        for (canonical, variants) in VARIANTS {
            if p.contains(canonical) && rng.chance(50) {
                *p = p.replace(canonical, variants[rng.below(variants.len())]);
            }
        }
        // Other numbers, same shapes.
        if rng.chance(30) {
            *p = p
                .chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        char::from(b'0' + rng.below(10) as u8)
                    } else {
                        c
                    }
                })
                .collect();
        }
        if rng.chance(10) {
            *p = p.replacen(' ', "\u{A0}", 3);
        }
    }
    if rng.chance(8) {
        let i = rng.below(paragraphs.len());
        paragraphs[i] = garble(&paragraphs[i]);
    }
    for _ in 0..rng.below(4) {
        let at = rng.below(paragraphs.len() + 1);
        paragraphs.insert(at, JUNK[rng.below(JUNK.len())].to_string());
    }
    let separator = if rng.chance(10) { "\r\n\r\n" } else { "\n\n" };
    paragraphs.join(separator)
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut mb, mut seed) = (100.0f64, 1u64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--mb" => mb = args.next().and_then(|v| v.parse().ok()).unwrap_or(mb),
            "--seed" => seed = args.next().and_then(|v| v.parse().ok()).unwrap_or(seed),
            other => {
                eprintln!("usage: gen_corpus [--mb N] [--seed S]  (unknown argument {other})");
                std::process::exit(2);
            }
        }
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let mut seeds: Vec<String> = std::fs::read_dir(&dir)?
        .map(|e| std::fs::read_to_string(e?.path()))
        .collect::<io::Result<_>>()?;
    seeds.sort();
    let mut rng = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
    let target = (mb * 1e6) as usize;
    let mut written = 0;
    let mut out = io::BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let mut n = 0u64;
    while written < target {
        let pick = rng.below(seeds.len());
        let text = article(&mut rng, &seeds[pick]);
        let line = format!(
            "{{\"id\":\"doc-{n:08}\",\"text\":{},\"metadata\":{{\"url\":\"https://example.org/{n}\",\"lang\":\"fr\"}}}}\n",
            json_string(&text)
        );
        written += line.len();
        out.write_all(line.as_bytes())?;
        n += 1;
    }
    out.flush()
}
