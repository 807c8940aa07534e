//! The four accumulators — `Accumulator<str>`, `Accumulator<[u8]>`, `Utf8Accumulator` and
//! (feature `bytes`) `BytesAccumulator` — agree on every sequence of pushes and finalizes,
//! with and without a size limit: the same result for every push (the same refusal, field
//! for field), the same content and the same chunks after every step. ASCII chunks, so the
//! text and byte views are the same bytes.
#![cfg(feature = "stream")]
#![cfg(feature = "bytes")]

use proptest::prelude::*;
use tenure::stream::{AccumulateError, Accumulator, BytesAccumulator, Utf8Accumulator};

#[derive(Debug, Clone)]
enum Op {
    Push(String),
    Finalize,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => "[a-z]{0,24}".prop_map(Op::Push),
        1 => Just(Op::Finalize),
    ]
}

/// What one accumulator shows after a step.
#[derive(Debug, PartialEq)]
struct Seen {
    result: Result<(), AccumulateError>,
    content: Vec<u8>,
    chunks: Vec<Vec<u8>>,
    len: usize,
    sealed: bool,
}

struct All {
    text: Accumulator<str>,
    bytes: Accumulator<[u8]>,
    utf8: Utf8Accumulator,
    shared: BytesAccumulator,
}

impl All {
    fn new(max_len: Option<usize>) -> Self {
        let mut all = All {
            text: Accumulator::new(),
            bytes: Accumulator::new(),
            utf8: Utf8Accumulator::new(),
            shared: BytesAccumulator::new(),
        };
        if let Some(max) = max_len {
            all.text = all.text.with_max_len(max);
            all.bytes = all.bytes.with_max_len(max);
            all.utf8 = all.utf8.with_max_len(max);
            all.shared = all.shared.with_max_len(max);
        }
        all
    }

    /// Applies `op` to each; what each shows afterwards, in the order above.
    fn apply(&mut self, op: &Op) -> [Seen; 4] {
        let results: [Result<(), AccumulateError>; 4] = match op {
            Op::Push(s) => [
                self.text.push(s.as_str()),
                self.bytes.push(s.as_bytes()),
                self.utf8.push(s.as_bytes()),
                self.shared
                    .push(bytes::Bytes::copy_from_slice(s.as_bytes())),
            ],
            Op::Finalize => {
                self.text.finalize();
                self.bytes.finalize();
                self.utf8
                    .finalize()
                    .expect("ASCII never ends mid-character");
                self.shared.finalize();
                [Ok(()), Ok(()), Ok(()), Ok(())]
            }
        };
        let [r0, r1, r2, r3] = results;
        let (text, bytes, utf8, shared) = (&self.text, &self.bytes, &self.utf8, &self.shared);
        [
            seen(
                r0,
                text.content().as_bytes(),
                text.chunks().map(str::as_bytes),
                text.len(),
                text.is_sealed(),
            ),
            seen(
                r1,
                bytes.content(),
                bytes.chunks(),
                bytes.len(),
                bytes.is_sealed(),
            ),
            seen(
                r2,
                utf8.content().as_bytes(),
                utf8.chunks().map(str::as_bytes),
                utf8.len(),
                utf8.is_sealed(),
            ),
            seen(
                r3,
                &shared.to_bytes(),
                shared.chunks().iter().map(|c| &c[..]),
                shared.len(),
                shared.is_sealed(),
            ),
        ]
    }
}

fn seen<'a>(
    result: Result<(), AccumulateError>,
    content: &[u8],
    chunks: impl Iterator<Item = &'a [u8]>,
    len: usize,
    sealed: bool,
) -> Seen {
    Seen {
        result,
        content: content.to_vec(),
        chunks: chunks.map(<[u8]>::to_vec).collect(),
        len,
        sealed,
    }
}

const NAMES: [&str; 4] = [
    "Accumulator<str>",
    "Accumulator<[u8]>",
    "Utf8Accumulator",
    "BytesAccumulator",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_four_accumulators_agree(
        ops in prop::collection::vec(op(), 0..40),
        max_len in prop::option::of(0usize..120),
    ) {
        let mut all = All::new(max_len);
        // A plain model: what was accepted, in chunks; sealed or not.
        let mut model: Vec<String> = Vec::new();
        let mut sealed = false;
        for (step, op) in ops.iter().enumerate() {
            let seen = all.apply(op);
            for (i, s) in seen.iter().enumerate().skip(1) {
                prop_assert_eq!(s, &seen[0], "step {} {:?}: {} vs {}", step, op, NAMES[i], NAMES[0]);
            }
            let len: usize = model.iter().map(String::len).sum();
            let want = match op {
                Op::Finalize => {
                    sealed = true;
                    Ok(())
                }
                Op::Push(_) if sealed => Err(AccumulateError::Sealed { len, chunks: model.len() }),
                Op::Push(s) if max_len.is_some_and(|m| len + s.len() > m) => {
                    Err(AccumulateError::TooLarge { max_len: max_len.unwrap(), len, chunk_len: s.len() })
                }
                Op::Push(s) => {
                    model.push(s.clone());
                    Ok(())
                }
            };
            prop_assert_eq!(&seen[0].result, &want, "step {} {:?}", step, op);
            let content = model.concat();
            prop_assert_eq!(seen[0].content.as_slice(), content.as_bytes());
            prop_assert_eq!(seen[0].chunks.len(), model.len());
            prop_assert_eq!(seen[0].sealed, sealed);
        }
    }
}
