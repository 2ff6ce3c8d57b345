//! Fuzz targets for tracer's readers of untrusted input. Each target takes
//! arbitrary bytes and feeds them to the code tracer runs on a file or a
//! node's reply, then to what uses the parsed result (a report rendered
//! from a trace file, a case file written back out): any panic, overflow
//! (the fuzz build checks overflows) or hang is a bug. Errors are fine;
//! they are formatted, since a `Display` impl can panic too.
//!
//! The AFL++ harness (`src/bin/afl.rs`) runs one target by name (outside
//! AFL++, on the one input of its standard input: a crash to reproduce).
//! `fuzz/run.sh` builds and runs it; see the README's "Fuzzing" section.

mod bitcoin;
mod bundle;
mod case;
mod ethereum;
mod scratch;
mod tags;
mod trace;

/// A fuzz target: its name (also the corpus directory `fuzz/corpus/<name>`)
/// and the function that takes one input.
pub struct Target {
    /// Name on the command line and of the corpus directory.
    pub name: &'static str,
    /// What the input is and which code it reaches.
    pub about: &'static str,
    /// Runs one input; whether every step accepted it (a valid input
    /// reaches the end: the seeds test checks each corpus has one).
    pub run: fn(&[u8]) -> bool,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "blk_file",
        about: "a blk*.dat file (with an xor.dat key): framing, scan, best chain, block reads, decode",
        run: bitcoin::blk_file,
    },
    Target {
        name: "bitcoin_block",
        about: "raw block or transaction bytes: ledger conversion (BIP 144 layout, merkle check) and decode",
        run: bitcoin::block,
    },
    Target {
        name: "bitcoin_rpc",
        about: "a Bitcoin Core JSON-RPC reply: envelope, errors, getblock hex to a ledger block",
        run: bitcoin::rpc_reply,
    },
    Target {
        name: "ethereum_rpc",
        about: "Ethereum JSON-RPC results (block, receipts, call traces, token calls) converted for the ledger",
        run: ethereum::replies,
    },
    Target {
        name: "tagpack",
        about: "a GraphSense TagPack (YAML), validated",
        run: tags::tagpack,
    },
    Target {
        name: "tags_csv",
        about: "a CSV tag file, validated",
        run: tags::csv,
    },
    Target {
        name: "case",
        about: "a case file (TOML), validated and written back (the round trip must give the same case)",
        run: case::case_file,
    },
    Target {
        name: "trace_json",
        about: "a trace file (trace.json), parsed, made into a report (HTML, CSV, graph files) and a linkage",
        run: trace::trace_file,
    },
    Target {
        name: "bundle",
        about: "a case bundle directory, verified against its manifest as `tracer import` does",
        run: bundle::bundle,
    },
];

/// Keeps `value` from being optimised away: what a target computes from an
/// input (an error message, a rendered report) is made in full.
fn keep<T>(value: T) {
    let _ = std::hint::black_box(value);
}

/// Whether `result` is `Ok`, keeping the value or the error's message.
fn accepted<T, E: std::fmt::Display>(result: Result<T, E>) -> bool {
    match result {
        Ok(v) => {
            keep(v);
            true
        }
        Err(e) => {
            keep(e.to_string());
            false
        }
    }
}

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// The names of every target, for usage messages.
pub fn names() -> String {
    TARGETS
        .iter()
        .map(|t| t.name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every seed of every corpus goes through its target (without AFL's
    /// instrumentation): the seeds are not crashes, and each corpus has a
    /// valid input that reaches the end of its target.
    #[test]
    fn every_seed_runs_through_its_target() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        for t in TARGETS {
            let dir = corpus.join(t.name);
            let mut seeds: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().path())
                .collect();
            seeds.sort();
            assert!(seeds.len() >= 2, "{}: {} seeds", t.name, seeds.len());
            let valid = seeds
                .iter()
                .filter(|s| (t.run)(&std::fs::read(s).unwrap()))
                .count();
            eprintln!("{}: {valid} of {} seeds accepted", t.name, seeds.len());
            assert!(valid >= 1, "{}: no seed is accepted", t.name);
        }
        scratch::remove();
    }

    #[test]
    fn targets_are_found_by_name() {
        assert_eq!(target("case").map(|t| t.name), Some("case"));
        assert!(target("nope").is_none());
        assert!(names().starts_with("blk_file, bitcoin_block"));
    }
}
