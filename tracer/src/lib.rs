//! tracer as a library: the simulator of a Bitcoin economy with ground truth
//! and the evaluation of the heuristics against it (used by the CLI, the
//! tests and the benchmarks).
// Text for people goes through `terminal` (escaped), never straight to stdout.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod case;
pub mod evaluate;
pub mod output;
pub mod simulate;
pub mod terminal;
pub mod trace_eval;
