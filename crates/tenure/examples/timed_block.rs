//! Seed pattern 3: `timed_block` — a guard that reports a block's name, duration and
//! outcome through `tracing` when the block ends, on every path.
//!
//! Run: `cargo run -p tenure --example timed_block`

use std::time::Duration;

use tenure::timed;

fn process_large_dataset(rows: u64) -> u64 {
    let _t = timed::block("data_processing");
    std::thread::sleep(Duration::from_millis(20));
    (0..rows).sum()
}

fn parse_config(text: &str) -> Result<u32, std::num::ParseIntError> {
    let mut t = timed::block("parse_config");
    let value = t.check(text.trim().parse::<u32>())?;
    Ok(value)
}

fn main() {
    tracing_subscriber::fmt()
        .with_target(true)
        .with_ansi(false)
        .with_writer(std::io::stdout)
        .init();

    println!("1) a block that succeeds:");
    let sum = process_large_dataset(1_000);
    println!("   sum = {sum}");

    println!("2) a block that returns an error (outcome=\"error\"):");
    let err = parse_config("not a number").unwrap_err();
    println!("   error = {err}");

    println!("3) a block that panics (outcome=\"panic\"; the event is emitted while unwinding):");
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {})); // the panic is expected: keep the output short
    let r = std::panic::catch_unwind(|| {
        let _t = timed::block("flaky_step");
        panic!("flaky_step blew up");
    });
    std::panic::set_hook(default_hook);
    println!("   panicked = {}", r.is_err());

    println!("4) the duration, returned explicitly:");
    let t = timed::block("explicit");
    std::thread::sleep(Duration::from_millis(5));
    let d = t.finish();
    println!("   took {:.1} ms", d.as_secs_f64() * 1e3);
}
