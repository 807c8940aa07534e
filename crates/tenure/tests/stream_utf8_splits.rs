//! A byte stream of UTF-8 text decodes to the original text however it is split into chunks,
//! and bytes that are not UTF-8 are reported at the offset `std::str::from_utf8` gives for the
//! whole stream.
#![cfg(feature = "stream")]

use proptest::prelude::*;
use tenure::stream::{AccumulateError, Utf8Accumulator};

/// Characters of every encoded length: 1 (ASCII), 2, 3 and 4 bytes.
fn any_char() -> impl Strategy<Value = char> {
    prop_oneof![
        any::<char>(),
        prop::sample::select(vec![
            'a',
            'é',
            'ß',
            '€',
            '☕',
            '語',
            '🦀',
            '𝄞',
            '\u{10FFFF}'
        ]),
    ]
}

/// Splits `bytes` before each index `i` (1..len) whose bit is set in `cuts`.
fn split(bytes: &[u8], cuts: &[bool]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && cuts.get(i - 1).copied().unwrap_or(false) {
            out.push(Vec::new());
        }
        out.last_mut().unwrap().push(*b);
    }
    out
}

fn decode(chunks: &[Vec<u8>]) -> Result<String, AccumulateError> {
    let mut acc = Utf8Accumulator::new();
    for c in chunks {
        acc.push(c)?;
        assert!(acc.pending().len() <= 3);
    }
    let text = acc.finalize()?.to_string();
    // The text each push completed adds up to the whole.
    assert_eq!(acc.chunks().collect::<String>(), text);
    assert_eq!(acc.chunks().len(), chunks.len());
    Ok(text)
}

#[test]
fn every_split_of_a_mixed_text_decodes_to_the_original() {
    let text = "aé€🦀b😀"; // 1 + 2 + 3 + 4 + 1 + 4 = 15 bytes
    let bytes = text.as_bytes();
    let boundaries = bytes.len() - 1;
    for mask in 0u32..(1 << boundaries) {
        let cuts: Vec<bool> = (0..boundaries).map(|i| mask & (1 << i) != 0).collect();
        let chunks = split(bytes, &cuts);
        assert_eq!(decode(&chunks).unwrap(), text, "mask {mask:#b}");
    }
}

#[test]
fn one_byte_chunks_and_empty_chunks_decode() {
    let text = "𝄞 ☕ é";
    let mut acc = Utf8Accumulator::new();
    for b in text.bytes() {
        acc.push([b]).unwrap();
        acc.push(b"").unwrap();
    }
    assert_eq!(acc.finalize().unwrap(), text);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_texts_split_anywhere_decode_to_the_original(
        chars in prop::collection::vec(any_char(), 0..64),
        cuts in prop::collection::vec(any::<bool>(), 0..256),
    ) {
        let text: String = chars.into_iter().collect();
        let chunks = split(text.as_bytes(), &cuts);
        prop_assert_eq!(decode(&chunks).unwrap(), text);
    }

    #[test]
    fn invalid_bytes_are_reported_at_the_offset_std_reports(
        parts in prop::collection::vec(
            prop_oneof![
                4 => any_char().prop_map(|c| c.to_string().into_bytes()),
                1 => prop::collection::vec(any::<u8>(), 1..3),
                1 => any_char().prop_map(|c| { let mut v = c.to_string().into_bytes(); v.pop(); v }),
            ],
            0..40,
        ),
        cuts in prop::collection::vec(any::<bool>(), 0..256),
    ) {
        let bytes: Vec<u8> = parts.concat();
        let chunks = split(&bytes, &cuts);
        let expected = std::str::from_utf8(&bytes);
        let mut acc = Utf8Accumulator::new();
        let mut refused = None;
        for c in &chunks {
            if let Err(e) = acc.push(c) {
                refused = Some(e);
                break;
            }
        }
        match (expected, refused) {
            (Ok(text), None) => prop_assert_eq!(acc.finalize().unwrap(), text),
            (Err(e), Some(AccumulateError::Utf8(ours))) => {
                let at = e.valid_up_to();
                prop_assert!(e.error_len().is_some(), "only invalid bytes are refused by push");
                prop_assert_eq!(ours.offset(), at as u64);
                prop_assert_eq!(ours.bytes(), &bytes[at..at + e.error_len().unwrap()]);
                prop_assert!(!ours.is_incomplete());
                // The refused chunk left no trace: the content is valid text before the error.
                let valid = std::str::from_utf8(&bytes[..at]).unwrap();
                prop_assert!(valid.starts_with(acc.content()));
            }
            (Err(e), None) => {
                prop_assert!(e.error_len().is_none(), "invalid bytes were accepted");
                let ours = acc.finalize().unwrap_err();
                prop_assert!(ours.is_incomplete());
                prop_assert_eq!(ours.offset(), e.valid_up_to() as u64);
                prop_assert_eq!(ours.bytes(), &bytes[e.valid_up_to()..]);
                prop_assert_eq!(acc.content(), std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap());
            }
            (expected, refused) => prop_assert!(false, "std: {:?}, ours: {:?}", expected, refused),
        }
    }
}

#[test]
fn an_invalid_byte_after_a_split_character_names_the_split_characters_offset() {
    let mut acc = Utf8Accumulator::new();
    acc.push(b"ab\xE2\x82").unwrap(); // '€' begun
    let err = acc.push(b"x").unwrap_err();
    let AccumulateError::Utf8(e) = err else {
        panic!("{err:?}")
    };
    assert_eq!((e.offset(), e.bytes()), (2, &[0xE2, 0x82][..]));
    // Still usable: the rest of '€' completes it.
    acc.push(b"\xAC!").unwrap();
    assert_eq!(acc.finalize().unwrap(), "ab€!");
}

#[test]
fn a_stream_ending_mid_character_is_reported_at_finalize() {
    let mut acc = Utf8Accumulator::new();
    acc.push("ok ".as_bytes()).unwrap();
    acc.push(&"🦀".as_bytes()[..3]).unwrap();
    let e = acc.finalize().unwrap_err();
    assert!(e.is_incomplete());
    assert_eq!(e.offset(), 3);
    assert_eq!(e.bytes(), &"🦀".as_bytes()[..3]);
    assert_eq!(acc.content(), "ok ");
    assert!(acc.is_sealed());
}
