//! The job's input: CSV files of generated records, some with a malformed row, written to
//! the work directory; and each one opened as a resource the job's `ExitStack` holds and the
//! ledger counts.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tenure::testing::{InjectedFault, Ledger, TestResource};
use tenure::{Close, ExitStack};

use super::Stop;

/// The ledger kind of an open input file.
pub const FILE: &str = "input file";

/// One input file as written: what a correct load of it must give.
#[derive(Debug, Clone)]
pub struct Spec {
    /// `input-03.csv`.
    pub name: String,
    pub path: PathBuf,
    /// Data rows (the header not counted), the malformed one included.
    pub rows: u64,
    /// The line (1 = the header) of the malformed row, if the file has one.
    pub bad_line: Option<u64>,
}

impl Spec {
    /// The rows a load that commits this file adds.
    pub fn valid_rows(&self) -> u64 {
        self.rows - u64::from(self.bad_line.is_some())
    }
}

const CUSTOMERS: [&str; 8] = [
    "ada", "grace", "edsger", "barbara", "donald", "frances", "john", "margaret",
];

/// A small deterministic generator (splitmix64): the same job every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Whether file `i` (from 0) gets a malformed row: the third of every three.
fn has_bad_row(i: usize) -> bool {
    i % 3 == 2
}

/// Writes `files` CSV files of `rows` records each into `dir` (`customer,amount_cents`
/// under a header); every third file has one malformed row two thirds of the way in.
/// Stops early, with what was written so far, when the job halts.
pub fn write(dir: &Path, files: usize, rows: u64, stop: &Stop) -> io::Result<Vec<Spec>> {
    let mut specs = Vec::with_capacity(files);
    let mut rng = Rng(0x7e4e_0e5d_u64);
    for i in 0..files {
        if stop.halted() {
            break;
        }
        let name = format!("input-{:02}.csv", i + 1);
        let path = dir.join(&name);
        let bad_line = (has_bad_row(i) && rows > 0).then(|| 2 + rows * 2 / 3);
        let mut out = BufWriter::new(File::create(&path)?);
        writeln!(out, "customer,amount_cents")?;
        for line in 2..rows + 2 {
            let r = rng.next();
            let customer = CUSTOMERS[(r % CUSTOMERS.len() as u64) as usize];
            let cents = (r >> 8) % 100_000;
            if Some(line) == bad_line {
                // A decimal point where whole cents belong: the load refuses the file.
                writeln!(out, "{customer},{}.{:02}", cents / 100, cents % 100)?;
            } else {
                writeln!(out, "{customer},{cents}")?;
            }
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        specs.push(Spec {
            name,
            path,
            rows,
            bad_line,
        });
    }
    Ok(specs)
}

/// An open input file: the file, shared with the worker that loads it while the job's stack
/// owns it, and its entry in the ledger.
pub struct InputFile {
    name: String,
    file: Arc<File>,
    entry: TestResource,
}

impl InputFile {
    /// The file, for a worker to read (`&File` reads).
    pub fn file(&self) -> Arc<File> {
        self.file.clone()
    }
}

/// Why an input file could not be opened or closed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("could not open `{name}`")]
    Open {
        name: String,
        #[source]
        cause: io::Error,
    },
    #[error("could not open `{name}`")]
    Injected {
        name: String,
        #[source]
        cause: InjectedFault,
    },
    #[error("could not close `{name}`")]
    Close {
        name: String,
        #[source]
        cause: InjectedFault,
    },
    /// A worker still held the file when the stack closed it.
    #[error("closed `{name}` while a worker still held it")]
    StillShared { name: String },
}

/// Closing gives the file up and records it in the ledger (consulting its faults for a close
/// failure). A worker that still holds the file when the stack closes it is an error: every
/// worker is joined before the stack closes.
impl Close for InputFile {
    type Error = FileError;
    fn close(self) -> Result<(), FileError> {
        let InputFile { name, file, entry } = self;
        let shared = Arc::strong_count(&file) > 1;
        drop(file);
        entry.release().map_err(|cause| FileError::Close {
            name: name.clone(),
            cause,
        })?;
        if shared {
            return Err(FileError::StillShared { name });
        }
        Ok(())
    }
}

/// Opens every file into `stack`, in order; each is live in `ledger` (kind [`FILE`]) until
/// the stack closes it. The ledger's faults may refuse an open (`--fail-at open`). Returns
/// the open files' shared handles; stops early, with those opened so far, when the job halts.
pub fn open_all(
    stack: &mut ExitStack<'_>,
    specs: &[Spec],
    ledger: &Ledger,
    stop: &Stop,
) -> Result<Vec<Arc<File>>, FileError> {
    let mut opened = Vec::with_capacity(specs.len());
    for spec in specs {
        if stop.halted() {
            break;
        }
        let entry = ledger.acquire(FILE).map_err(|cause| FileError::Injected {
            name: spec.name.clone(),
            cause,
        })?;
        let file = File::open(&spec.path).map_err(|cause| FileError::Open {
            name: spec.name.clone(),
            cause,
        })?;
        let file = InputFile {
            name: spec.name.clone(),
            file: Arc::new(file),
            entry,
        };
        let handle = stack.named(spec.name.clone()).enter(file);
        opened.push(stack[handle].file());
    }
    Ok(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_third_file_has_one_bad_row_and_the_rest_parse() {
        let dir = tempfile::tempdir().unwrap();
        let specs = write(dir.path(), 4, 30, &Stop::default()).unwrap();
        assert_eq!(specs.len(), 4);
        for (i, spec) in specs.iter().enumerate() {
            let text = std::fs::read_to_string(&spec.path).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 31);
            let bad: Vec<u64> = lines[1..]
                .iter()
                .zip(2..)
                .filter(|(l, _)| l.split_once(',').unwrap().1.parse::<i64>().is_err())
                .map(|(_, n)| n)
                .collect();
            assert_eq!(bad, spec.bad_line.into_iter().collect::<Vec<_>>());
            assert_eq!(spec.bad_line.is_some(), i == 2);
        }
        assert_eq!(specs[2].valid_rows(), 29);
    }

    #[test]
    fn a_file_still_shared_at_close_is_an_error_and_still_released() {
        let dir = tempfile::tempdir().unwrap();
        let specs = write(dir.path(), 1, 1, &Stop::default()).unwrap();
        let ledger = Ledger::new();
        let mut stack = ExitStack::new();
        let files = open_all(&mut stack, &specs, &ledger, &Stop::default()).unwrap();
        assert_eq!(ledger.live_count(), 1);
        let err = stack.close().unwrap_err();
        assert!(err.report().to_string().contains("still held"), "{err}");
        drop(files);
        ledger.assert_all_closed();
    }
}
