//! Case files (TOML).

use tracer::case::{parse, to_toml};

use crate::keep;

/// A case file's text, parsed and validated as `tracer case check` does; a
/// valid case is written back out with [`to_toml`] (as `tracer case new`
/// writes one), and that text must parse to the same case.
pub fn case_file(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    match parse(text, "fuzz.toml") {
        Ok(case) => {
            let again = to_toml(&case);
            match parse(&again, "written") {
                Ok(back) => assert_eq!(back, case, "written back as:\n{again}"),
                Err(e) => panic!("a valid case written back does not parse: {e}\n{again}"),
            }
            true
        }
        Err(e) => {
            keep((e.to_string(), e.problems()));
            false
        }
    }
}
