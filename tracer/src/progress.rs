//! Ingest progress on the terminal: a bar with blocks/s and ETA. When stderr
//! is not a TTY the bar is hidden and each commit is logged as a line
//! (`committed height N`) instead, for logs and supervising programs.

use std::io::IsTerminal;

use chain_adapters::ingest::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Draws ingest progress with indicatif.
pub struct Bar {
    bar: ProgressBar,
}

impl Bar {
    /// A bar on stderr (hidden unless stderr is a terminal).
    pub fn new() -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(0), target);
        bar.set_style(
            ProgressStyle::with_template(
                "{elapsed_precise} [{bar:30}] {pos}/{len} blocks  {per_sec}  ETA {eta}  {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        Bar { bar }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Progress for Bar {
    fn begin(&self, from: u64, to: u64, _bytes: u64) {
        self.bar.set_length(to + 1 - from);
        self.bar.set_position(0);
    }

    fn block(&self, height: u64, _bytes: u64) {
        self.bar.inc(1);
        if height.is_multiple_of(100) {
            self.bar.set_message(format!("height {height}"));
        }
    }

    fn committed(&self, height: u64) {
        // A hidden bar means stderr is not a terminal: log the commit instead.
        if self.bar.is_hidden() {
            tracer::errln!("committed height {height}");
        }
    }

    fn note(&self, msg: &str) {
        self.bar.suspend(|| tracer::errln!("note: {msg}"));
    }
}

/// A spinner for long traces: transactions judged and waiting.
pub struct TraceBar {
    bar: ProgressBar,
}

impl TraceBar {
    /// A spinner on stderr for a trace under `model` (hidden unless a terminal).
    pub fn new(model: &str) -> Self {
        let target = if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(None, target);
        bar.set_style(
            ProgressStyle::with_template("{elapsed_precise} {spinner} {prefix}: {msg}")
                .expect("valid template"),
        );
        bar.set_prefix(format!("tracing ({model})"));
        TraceBar { bar }
    }

    /// Removes the spinner.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl heuristics::trace::Progress for TraceBar {
    fn update(&self, txs: u64, pending: usize) {
        self.bar
            .set_message(format!("{txs} transactions judged, {pending} waiting"));
        self.bar.tick();
    }
}
