//! Profiling aid for the encoder (not a benchmark; see benchmarks/tokenizer.py):
//!     cargo run --profile profiling --example profile_bpe -- MODEL FILE.jsonl
//! prints cold-memo, warm-memo and normalize-only throughput; run it under `perf record`.
use medtitan::tokenizer::bpe::{Scratch, SentencePieceBpe};
use std::io::BufRead;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: profile_bpe MODEL FILE.jsonl");
        std::process::exit(2);
    }
    let model = SentencePieceBpe::from_bytes(&std::fs::read(&args[1]).expect("model file")).expect("model");
    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(&args[2]).expect("JSONL file"))
        .lines()
        .map(|line| {
            let record: serde_json::Value = serde_json::from_str(&line.expect("readable line")).expect("JSON");
            record["text"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    let megabytes = texts.iter().map(String::len).sum::<usize>() as f64 / 1e6;
    let mut scratch = Scratch::new();
    let timed = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        f();
        megabytes / started.elapsed().as_secs_f64()
    };
    let cold = timed(&mut || texts.iter().for_each(|t| drop(model.encode(t, &mut scratch))));
    let warm = timed(&mut || texts.iter().for_each(|t| drop(model.encode(t, &mut scratch))));
    let normalize = timed(&mut || texts.iter().for_each(|t| drop(model.normalize(t))));
    println!("cold {cold:.1} MB/s, warm {warm:.1} MB/s, normalize only {normalize:.1} MB/s");
}
