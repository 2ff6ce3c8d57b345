//! tracer as a library: the simulator of a Bitcoin economy with ground truth
//! (used by the CLI, the tests and the benchmarks).

pub mod simulate;
