//! Training shards: packing token streams into fixed-length samples (`pack`), seeded
//! permutations (`shuffle`) and Megatron-compatible `MMIDIDX` shard files (`mmidx`).

pub mod mmidx;
pub mod pack;
pub mod shuffle;
