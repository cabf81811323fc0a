//! medtitan's Rust core: tokenization, dedup, decontamination, de-identification, packing and
//! shards. Each folder is one domain; `py/` holds every pyo3 binding and registers them as the
//! Python extension `medtitan._core`. This file only declares the modules.

pub mod decontam;
pub mod dedup;
pub mod deid;
pub mod filters;
mod py;
pub mod shards;
pub mod tokenizer;
