//! tracer as a library: the simulator of a Bitcoin economy with ground truth
//! and the evaluation of the heuristics against it (used by the CLI, the
//! tests and the benchmarks).

pub mod case;
pub mod evaluate;
pub mod output;
pub mod simulate;
pub mod trace_eval;
