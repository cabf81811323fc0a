//! Deduplication: word n-gram shingles and the exact-dedup key (`shingles`), exact Jaccard
//! similarity (`jaccard`), MinHash signatures (`minhash`) and LSH near-duplicate clusters
//! (`lsh`).

pub mod jaccard;
pub mod lsh;
pub mod minhash;
pub mod shingles;
