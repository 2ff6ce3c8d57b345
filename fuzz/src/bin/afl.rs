//! The AFL++ harness: `afl <target>` runs the target on the inputs AFL++
//! gives it, in persistent mode; run by hand, on its standard input (to
//! reproduce a crash). Built by `fuzz/run.sh` with `cargo afl`.

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = tracer_fuzz::target(&name) else {
        eprintln!("usage: afl <target>; targets: {}", tracer_fuzz::names());
        std::process::exit(2);
    };
    afl::fuzz!(|data: &[u8]| {
        (target.run)(data);
    });
}
