//! Everything tracer prints for people goes through here, escaped.
//!
//! Labels from TagPacks, case-file notes, token symbols read from contracts
//! and messages from nodes are untrusted: an ESC sequence in them could
//! recolour, clear or retitle the investigator's terminal, a carriage return
//! could overwrite what was printed before it, and a bidi override (U+202E)
//! could make an address or an amount read backwards. [`escape`] writes
//! such characters as visible escapes (`\u{1b}`, `\r`, `\u{202e}`); the
//! [`outln!`](crate::outln) and [`errln!`](crate::errln) macros print one
//! escaped line, [`text`] a block of lines, [`error`] an error, and
//! [`json`] a JSON document with the same characters as `\u` escapes. The
//! crate denies `print!`/`println!`/`eprintln!` everywhere else (clippy's
//! `print_stdout`/`print_stderr`), so no text view can bypass it.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

use serde::Serialize;

/// Whether `c` must not reach a terminal as it is: control characters (C0,
/// DEL, C1 — ESC, BEL, CR, LF, TAB …) and the invisible Unicode format
/// characters that reorder or hide text (bidi embeddings, overrides and
/// isolates, directional marks, zero-width characters, line and paragraph
/// separators, the byte-order mark).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// `s` with every [`is_unsafe`] character written as a visible escape
/// (`\u{1b}`, `\u{7}`, `\r`, `\n`, `\t`, `\u{202e}`); other text, Japanese
/// included, is unchanged (and not copied).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escapes each line of `s` (newlines stay line breaks).
fn escape_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&escape(line));
    }
    out
}

/// Prints `line` (escaped, newlines included) and a newline on stdout.
pub fn line(line: &str) {
    println!("{}", escape(line));
}

/// Prints `line` (escaped, newlines included) and a newline on stderr.
pub fn line_err(line: &str) {
    eprintln!("{}", escape(line));
}

/// Prints a block of lines on stdout (a table or Markdown built as one
/// string): each line escaped, the line breaks kept.
pub fn text(s: &str) {
    print!("{}", escape_lines(s));
}

/// Prints an error on stderr: `error: ` and its message, each line escaped.
pub fn error(message: &str) {
    eprintln!("error: {}", escape_lines(message));
}

/// Prints `v` as pretty JSON on stdout. serde_json escapes C0 controls in
/// strings; DEL, C1 controls and the invisible format characters are
/// escaped here as `\uXXXX` (they only occur inside strings, so the JSON
/// means the same).
pub fn json<T: Serialize>(v: &T) -> serde_json::Result<()> {
    let s = serde_json::to_string_pretty(v)?;
    println!("{}", json_escape(&s));
    Ok(())
}

/// JSON text with every [`is_unsafe`] character written as `\uXXXX`.
fn json_escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) && c != '\n') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_unsafe(c) && c != '\n' {
            // Every unsafe character is in the Basic Multilingual Plane.
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A buffered stdout for long outputs (`cluster export`): every field escaped.
pub struct Out {
    w: std::io::BufWriter<std::io::StdoutLock<'static>>,
}

impl Out {
    /// Locks stdout for this writer.
    pub fn new() -> Out {
        Out {
            w: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()),
        }
    }

    /// Writes one tab-separated line of `fields`, each escaped (a tab or a
    /// newline inside a field cannot split it).
    pub fn row(&mut self, fields: &[&str]) -> std::io::Result<()> {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.w.write_all(b"\t")?;
            }
            self.w.write_all(escape(f).as_bytes())?;
        }
        self.w.write_all(b"\n")
    }

    /// Writes `v` as one line of JSON (JSON Lines), escaped as [`json`] does.
    pub fn json_line<T: Serialize>(&mut self, v: &T) -> std::io::Result<()> {
        let s = serde_json::to_string(v)?;
        self.w.write_all(json_escape(&s).as_bytes())?;
        self.w.write_all(b"\n")
    }

    /// Writes `v` as pretty JSON, escaped as [`json`] does, every line after
    /// the first indented by `indent` (an element inside a streamed array).
    pub fn json_pretty<T: Serialize>(&mut self, v: &T, indent: &str) -> std::io::Result<()> {
        let s = serde_json::to_string_pretty(v)?;
        for (i, line) in json_escape(&s).split('\n').enumerate() {
            if i > 0 {
                self.w.write_all(b"\n")?;
            }
            self.w.write_all(indent.as_bytes())?;
            self.w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Writes the program's own text (JSON punctuation between streamed
    /// elements), which needs no escaping.
    pub fn literal(&mut self, s: &'static str) -> std::io::Result<()> {
        self.w.write_all(s.as_bytes())
    }

    /// Writes out what is buffered.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

impl Default for Out {
    fn default() -> Self {
        Out::new()
    }
}

/// Prints one line on stdout like `println!`, escaped ([`line`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::terminal::line("")
    };
    ($($arg:tt)*) => {
        $crate::terminal::line(&format!($($arg)*))
    };
}

/// Prints one line on stderr like `eprintln!`, escaped ([`line_err`]).
#[macro_export]
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::terminal::line_err(&format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_characters_are_shown_not_obeyed() {
        let label = "Evil\u{1b}[2J\u{1b}]0;pwned\u{7}Exchange\rBinance \u{202e}exe.gnp\u{9b}31m";
        assert_eq!(
            escape(label),
            "Evil\\u{1b}[2J\\u{1b}]0;pwned\\u{7}Exchange\\rBinance \\u{202e}exe.gnp\\u{9b}31m"
        );
        assert_eq!(escape("a\nb\tc\u{7f}"), "a\\nb\\tc\\u{7f}");
        assert_eq!(
            escape("\u{200b}\u{2066}\u{feff}"),
            "\\u{200b}\\u{2066}\\u{feff}"
        );
        // Ordinary text, Japanese included, is untouched and not copied.
        for plain in [
            "東京都 巡査部長 田中",
            "0xdAC17F958D2ee523a2206206994597C13D831ec7",
            "→ ✓",
        ] {
            assert!(matches!(escape(plain), Cow::Borrowed(p) if p == plain));
        }
        assert_eq!(escape_lines("one\u{1b}\ntwo\r"), "one\\u{1b}\ntwo\\r");
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_controls() {
        let v = serde_json::json!({"label": "a\u{1b}b\u{7f}c\u{9b}d\u{202e}e\nf"});
        let s = serde_json::to_string_pretty(&v).unwrap();
        let escaped = json_escape(&s);
        assert!(
            !escaped.chars().any(|c| is_unsafe(c) && c != '\n'),
            "{escaped}"
        );
        let back: serde_json::Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, v);
    }
}
