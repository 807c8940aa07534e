//! Accumulators: the content is the chunks in order, sealing refuses further pushes with a
//! typed error, a size limit refuses without losing what was accumulated, and the
//! `(accumulated, chunk)` adapter borrows instead of copying.
#![cfg(feature = "stream")]

use tenure::stream::{Accumulate, AccumulateError, Accumulator, StepError, Utf8Accumulator};

#[test]
fn content_and_chunks_are_what_was_pushed() {
    let mut acc = Accumulator::<str>::with_capacity(64, 4);
    for c in ["al", "", "pha", "β"] {
        acc.push(c).unwrap();
    }
    assert_eq!(acc.content(), "alphaβ");
    assert_eq!(acc.chunks().collect::<Vec<_>>(), ["al", "", "pha", "β"]);
    assert_eq!(acc.chunk_ends().collect::<Vec<_>>(), [2, 2, 5, 7]);
    assert_eq!(acc.last_chunk(), Some("β"));
    assert_eq!(acc.chunk_count(), 4);
}

#[test]
fn finalize_seals_and_returns_the_same_buffer() {
    let mut acc = Accumulator::<[u8]>::new();
    acc.push(b"abc").unwrap();
    let ptr = acc.content().as_ptr();
    assert_eq!(acc.finalize(), b"abc");
    assert_eq!(acc.finalize(), b"abc", "finalize twice is harmless");
    let err = acc.push(b"d").unwrap_err();
    assert_eq!(err, AccumulateError::Sealed { len: 3, chunks: 1 });
    assert!(err.to_string().contains("finalized"), "{err}");
    assert_eq!(acc.content(), b"abc");
    let owned = acc.into_inner();
    assert_eq!(owned.as_ptr(), ptr, "into_inner moves the buffer, no copy");
}

#[test]
fn a_sealed_utf8_accumulator_says_so() {
    let mut acc = Utf8Accumulator::new();
    acc.push(b"x").unwrap();
    acc.finalize().unwrap();
    assert!(acc.push(b"y").unwrap_err().is_sealed());
    assert_eq!(acc.content(), "x");
}

#[test]
fn the_limit_refuses_a_chunk_and_keeps_what_was_accumulated() {
    let mut acc = Accumulator::<str>::new().with_max_len(10);
    acc.push("0123456").unwrap();
    let err = acc.push("789A").unwrap_err();
    assert_eq!(
        err,
        AccumulateError::TooLarge {
            max_len: 10,
            len: 7,
            chunk_len: 4
        }
    );
    assert!(err.to_string().contains("maximum of 10 bytes"), "{err}");
    assert_eq!(acc.content(), "0123456");
    acc.push("789").unwrap(); // exactly at the limit is fine
    assert_eq!(acc.finalize(), "0123456789");
}

#[test]
fn the_limit_counts_held_back_utf8_bytes() {
    let mut acc = Utf8Accumulator::new().with_max_len(4);
    acc.push(b"ab\xE2").unwrap();
    assert!(matches!(
        acc.push(b"\x82\xAC"),
        Err(AccumulateError::TooLarge { len: 2, .. })
    ));
    acc.push(b"\x82").unwrap();
    assert_eq!(acc.content(), "ab");
    assert_eq!(acc.pending(), [0xE2, 0x82]);
}

#[test]
fn utf8_refusals_are_the_same_for_whole_and_split_chunks() {
    // A chunk of whole characters takes the fast path (an ordinary text push); one ending
    // mid-character takes the decoding path. Both refuse alike and leave no trace.
    let mut acc = Utf8Accumulator::new().with_max_len(6);
    acc.push(b"abc").unwrap(); // whole
    assert_eq!(
        acc.push(b"defg"), // whole, one byte too many
        Err(AccumulateError::TooLarge {
            max_len: 6,
            len: 3,
            chunk_len: 4
        })
    );
    assert_eq!(
        acc.push(b"de\xC3\xA9"), // whole ("deé"): one byte too many
        Err(AccumulateError::TooLarge {
            max_len: 6,
            len: 3,
            chunk_len: 4
        })
    );
    assert_eq!(
        acc.push(b"def\xC3"), // split: held-back byte counted
        Err(AccumulateError::TooLarge {
            max_len: 6,
            len: 3,
            chunk_len: 4
        })
    );
    assert_eq!(
        (acc.content(), acc.pending(), acc.bytes_received()),
        ("abc", &[][..], 3)
    );
    acc.push(b"d\xC3").unwrap(); // split
    acc.push(b"\xA9").unwrap(); // completes it: "abcdé"
    assert_eq!(acc.finalize().unwrap(), "abcd\u{e9}");
    assert_eq!(acc.chunks().collect::<Vec<_>>(), ["abc", "d", "\u{e9}"]);
    // Sealed: refused alike on both paths.
    let sealed = AccumulateError::Sealed { len: 6, chunks: 3 };
    assert_eq!(acc.push(b"x"), Err(sealed.clone()));
    assert_eq!(acc.push(b"\xC3"), Err(sealed));
}

#[test]
fn utf8_steps_yield_the_text_each_push_completed() {
    let chunks: [&[u8]; 4] = [b"caf", b"\xC3", b"\xA9!", b""];
    let mut steps = Accumulate::new(chunks, Utf8Accumulator::new());
    let mut seen = Vec::new();
    while let Some(step) = steps.next_step() {
        let (accumulated, chunk) = step.unwrap();
        seen.push((accumulated.to_string(), chunk.to_string()));
    }
    assert_eq!(
        seen,
        [
            ("caf", "caf"),
            ("caf", ""), // the first byte of "é" is held back
            ("caf\u{e9}!", "\u{e9}!"),
            ("caf\u{e9}!", ""),
        ]
        .map(|(a, c)| (a.to_string(), c.to_string()))
    );
    // A refused step changes nothing.
    let mut steps = Accumulate::new([&b"ok"[..], b"\xFF"], Utf8Accumulator::new());
    assert_eq!(steps.next_step().unwrap().unwrap(), ("ok", "ok"));
    assert!(steps.next_step().unwrap().is_err());
    assert_eq!(steps.finalize().unwrap(), "ok");
}

#[test]
fn accumulate_yields_accumulated_and_chunk_without_copying() {
    let mut steps = Accumulate::new(["The ", "quick ", "fox"], Accumulator::<str>::new());
    let mut seen = Vec::new();
    let mut base = None;
    while let Some(step) = steps.next_step() {
        let (accumulated, chunk) = step.unwrap();
        // Each chunk is a slice of the accumulated buffer, not a copy of it.
        assert!(std::ptr::eq(
            chunk.as_ptr(),
            accumulated[accumulated.len() - chunk.len()..].as_ptr()
        ));
        base.get_or_insert(accumulated.as_ptr());
        seen.push((accumulated.to_string(), chunk.to_string()));
    }
    assert_eq!(
        seen,
        [
            ("The ".to_string(), "The ".to_string()),
            ("The quick ".into(), "quick ".into()),
            ("The quick fox".into(), "fox".into())
        ]
    );
    assert_eq!(steps.finalize(), "The quick fox");
}

#[test]
fn accumulate_keeps_the_content_when_the_stream_fails_midway() {
    let items: Vec<Result<&[u8], std::io::Error>> = vec![
        Ok(b"caf"),
        Ok(b"\xC3"),
        Err(std::io::Error::other("connection reset")),
    ];
    let mut steps = Accumulate::new(items, Utf8Accumulator::new());
    assert_eq!(steps.next_step().unwrap().unwrap(), ("caf", "caf"));
    assert_eq!(steps.next_step().unwrap().unwrap(), ("caf", ""));
    let err = steps.next_step().unwrap().unwrap_err();
    assert!(matches!(err, StepError::Stream(ref e) if e.to_string() == "connection reset"));
    assert!(steps.next_step().is_none());
    assert_eq!(steps.accumulator().content(), "caf");
    assert!(steps.finalize().unwrap_err().is_incomplete());
}

#[test]
fn accumulate_reports_a_refused_chunk() {
    let mut steps = Accumulate::new(
        vec!["abc", "def"],
        Accumulator::<str>::new().with_max_len(4),
    );
    steps.next_step().unwrap().unwrap();
    let err = steps.next_step().unwrap().unwrap_err();
    assert!(matches!(
        err,
        StepError::Accumulate(AccumulateError::TooLarge { .. })
    ));
    assert_eq!(steps.accumulator().content(), "abc");
}

#[cfg(feature = "bytes")]
#[test]
fn bytes_chunks_are_kept_without_copying() {
    use bytes::Bytes;
    use tenure::stream::BytesAccumulator;

    let a = Bytes::from(vec![1u8; 4096]);
    let b = Bytes::from(vec![2u8; 4096]);
    let mut acc = BytesAccumulator::new().with_max_len(10_000);
    acc.push(a.clone()).unwrap();
    assert_eq!(acc.to_bytes().as_ptr(), a.as_ptr(), "one chunk: no copy");
    acc.push(b.clone()).unwrap();
    assert_eq!(acc.chunks()[0].as_ptr(), a.as_ptr());
    assert_eq!(acc.chunks()[1].as_ptr(), b.as_ptr());
    assert!(matches!(
        acc.push(Bytes::from(vec![3u8; 4096])),
        Err(AccumulateError::TooLarge { len: 8192, .. })
    ));
    let all = acc.finalize();
    assert_eq!(all.len(), 8192);
    assert_eq!((&all[..4096], &all[4096..]), (&a[..], &b[..]));
    assert!(acc.push(Bytes::new()).unwrap_err().is_sealed());
}

mod random {
    use proptest::prelude::*;
    use tenure::stream::Accumulator;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Thousands of chunks (across offset blocks, some of which widen from 16- to 32-bit
        /// offsets): content, each chunk and the last chunk are what was pushed.
        #[test]
        fn chunks_are_kept_as_pushed(
            sizes in prop::collection::vec(prop_oneof![0usize..9, 0usize..300], 0..6000),
        ) {
            let data: Vec<u8> = (0..sizes.iter().sum::<usize>()).map(|i| i as u8).collect();
            let mut pushed = Vec::new();
            let mut acc = Accumulator::<[u8]>::new();
            let mut at = 0;
            for n in sizes {
                let chunk = &data[at..at + n];
                at += n;
                acc.push(chunk).unwrap();
                prop_assert_eq!(acc.last_chunk(), Some(chunk));
                pushed.push(chunk);
            }
            prop_assert_eq!(acc.content(), &data[..]);
            prop_assert_eq!(acc.chunk_count(), pushed.len());
            prop_assert!(acc.chunks().eq(pushed.iter().copied()));
            prop_assert!(acc.chunks().rev().eq(pushed.iter().rev().copied()));
            for (i, c) in pushed.iter().enumerate().step_by(97) {
                prop_assert_eq!(acc.chunk(i), Some(*c));
            }
            let ends: Vec<usize> = pushed
                .iter()
                .scan(0, |end, c| {
                    *end += c.len();
                    Some(*end)
                })
                .collect();
            prop_assert_eq!(acc.chunk_ends().collect::<Vec<_>>(), ends);
        }
    }
}
