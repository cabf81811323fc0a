//! Profiling aid: cold and warm encode of a JSONL file's texts with a sentencepiece model.
//! cargo run --release --example profile_bpe -- MODEL FILE.jsonl
use medtitan::bpe::{Scratch, SentencePieceBpe};
use std::io::BufRead;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = SentencePieceBpe::from_bytes(&std::fs::read(&args[1]).unwrap()).unwrap();
    let texts: Vec<String> = std::io::BufReader::new(std::fs::File::open(&args[2]).unwrap())
        .lines()
        .map(|l| match serde_json::from_str::<serde_json::Value>(&l.unwrap()).unwrap()["text"].clone() {
            serde_json::Value::String(s) => s,
            _ => String::new(),
        })
        .collect();
    let bytes: usize = texts.iter().map(String::len).sum();
    for pass in 0..3 {
        let mut scratch = Scratch::new();
        let mut total = 0;
        let started = Instant::now();
        let mut normalized = String::new();
        for text in &texts {
            normalized.clear();
            total += model.encode(text, &mut scratch).len();
        }
        let cold = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for text in &texts {
            total += model.encode(text, &mut scratch).len();
        }
        let warm = started.elapsed().as_secs_f64();
        let started = Instant::now();
        for text in &texts {
            normalized = model.normalize(text);
        }
        let norm = started.elapsed().as_secs_f64();
        println!("pass {pass}: cold {:.1} MB/s, warm {:.1} MB/s, normalize only {:.1} MB/s ({total} ids, {})", bytes as f64 / 1e6 / cold, bytes as f64 / 1e6 / warm, bytes as f64 / 1e6 / norm, normalized.len());
    }
}
