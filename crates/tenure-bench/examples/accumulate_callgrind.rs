//! One side of `accumulate/chunks=1000000,size=4` (the same closures as the bench), for
//! counting instructions where wall time is too noisy:
//!
//! ```text
//! cargo build --release -p tenure-bench --example accumulate_callgrind
//! valgrind --tool=callgrind --toggle-collect='accumulate_callgrind::*_op' \
//!     target/release/examples/accumulate_callgrind tenure 3   # or: plain 3
//! ```
//!
//! Divide the collected instructions by 3,000,000 for instructions per push. Valgrind counts
//! each iteration of a `rep movs`/`rep stos` (large `memcpy`/`memset` in glibc) as one
//! instruction, so realloc copies and zeroed allocations weigh in per byte.
use std::hint::black_box;
use tenure::stream::Accumulator;

#[inline(never)]
fn tenure_op(small: &[&str]) -> usize {
    let mut acc = Accumulator::<str>::new();
    for c in black_box(small) {
        acc.push(c).unwrap();
    }
    acc.finalize();
    acc.into_inner().len()
}

#[inline(never)]
fn plain_op(small: &[&str]) -> usize {
    let mut s = String::new();
    for c in black_box(small) {
        s.push_str(c);
    }
    s.len()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let side = args.next().unwrap_or_default();
    let ops: usize = args.next().map_or(3, |s| s.parse().unwrap());
    let n = 1_000_000;
    let text: String = (0..n * 4)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let small: Vec<&str> = (0..n).map(|i| &text[i * 4..i * 4 + 4]).collect();
    let mut t = 0;
    for _ in 0..ops {
        t += match side.as_str() {
            "tenure" => black_box(tenure_op(black_box(&small))),
            "plain" => black_box(plain_op(black_box(&small))),
            _ => 0,
        };
    }
    println!("{t}");
}
