//! Thread pools for the Python bindings: `num_threads=None` means rayon's global pool (all
//! cores); a number means a dedicated pool of that size, kept for later calls so its threads
//! (and their per-thread memos) outlive the call. Also the test hook that panics inside a rayon
//! worker.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// Run `work` on a pool of `num_threads` threads, or on rayon's global pool (all cores).
pub fn with_threads<T: Send>(num_threads: Option<usize>, work: impl FnOnce() -> T + Send) -> PyResult<T> {
    match num_threads {
        None => Ok(work()),
        Some(0) => Err(PyValueError::new_err("num_threads must be at least 1")),
        Some(n) => {
            // Pools are kept, so their threads (and their per-thread memos) outlive the call.
            static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
            let pool = {
                let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
                match pools.get(&n) {
                    Some(pool) => Arc::clone(pool),
                    None => {
                        let pool = rayon::ThreadPoolBuilder::new()
                            .num_threads(n)
                            .build()
                            .map_err(|e| PyValueError::new_err(format!("cannot start {n} threads: {e}")))?;
                        Arc::clone(pools.entry(n).or_insert(Arc::new(pool)))
                    }
                }
            };
            Ok(pool.install(work))
        }
    }
}

/// Panics on purpose, inside a rayon worker, so a test can prove a panic anywhere in the core
/// reaches Python as an exception instead of aborting the interpreter.
#[pyfunction]
pub(super) fn _panic_in_worker_for_tests(py: Python<'_>, message: String) {
    py.detach(|| {
        (0..4).into_par_iter().for_each(|i| {
            if i == 3 {
                panic!("{message}");
            }
        })
    })
}
