//! Seed pattern 4: unconditional cleanup — a file plus temporary files, all released even
//! when processing fails.
//!
//! The Python original swallows errors while deleting temp files ("best effort"). Here every
//! temp file is still removed on every path, but a deletion that fails is *reported* (as a
//! suppressed cleanup error beside the processing error), never silently dropped.
//!
//! Run: `cargo run -p tenure --example file_processor`

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use tenure::close::close_with;
use tenure::{ExitStack, ScopeError};

/// Processes `input` line by line into temporary files, one per section; fails on a line
/// that says `FAIL`. Returns the number of lines processed.
fn process(
    input: &Path,
    work_dir: &Path,
    temps_seen: &mut Vec<PathBuf>,
) -> Result<usize, ScopeError<io::Error>> {
    process_with(input, work_dir, temps_seen, false)
}

/// `process`, where `interfere` deletes each temp file behind the processor's back (an
/// outside actor), so its removal fails during cleanup.
fn process_with(
    input: &Path,
    work_dir: &Path,
    temps_seen: &mut Vec<PathBuf>,
    interfere: bool,
) -> Result<usize, ScopeError<io::Error>> {
    ExitStack::scope(|stack| {
        let file = stack.enter(tenure::close::Dropping(BufReader::new(File::open(input)?)));
        let mut lines = 0;
        let mut current: Option<tenure::stack::Handle<_>> = None;
        let mut line = String::new();
        while stack[file].read_line(&mut line)? > 0 {
            if line.starts_with('#') || current.is_none() {
                let tmp = tempfile::NamedTempFile::new_in(work_dir)?;
                let (tmp_file, tmp_path) = tmp.into_parts();
                println!("  created temp file {}", tmp_path.display());
                temps_seen.push(tmp_path.to_path_buf());
                if interfere {
                    std::fs::remove_file(&tmp_path)?;
                }
                // Delete on every path; a failure to delete is returned, not swallowed.
                let name = tmp_path.display().to_string();
                stack.named(name).enter(close_with(tmp_path, |p| {
                    let shown = p.display().to_string();
                    p.close().map(|()| println!("  removed temp file {shown}"))
                }));
                current = Some(stack.enter(tenure::close::Dropping(tmp_file)));
            }
            if line.trim() == "FAIL" {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("bad record at line {}", lines + 1),
                ));
            }
            let out = current.expect("a temp file is open");
            stack[out].write_all(line.as_bytes())?;
            lines += 1;
            line.clear();
        }
        Ok(lines)
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("input.txt");

    println!("1) processing succeeds:");
    std::fs::write(&input, "# a\n1\n2\n# b\n3\n")?;
    let mut temps = Vec::new();
    let n = process(&input, dir.path(), &mut temps)?;
    println!(
        "  processed {n} lines; temp files left: {}",
        temps.iter().filter(|p| p.exists()).count()
    );

    println!("2) processing fails half way:");
    std::fs::write(&input, "# a\n1\n# b\nFAIL\n3\n")?;
    let mut temps = Vec::new();
    let err = process(&input, dir.path(), &mut temps).unwrap_err();
    println!("  error: {err}");
    println!(
        "  temp files left: {}",
        temps.iter().filter(|p| p.exists()).count()
    );

    println!("3) processing fails, and a temp file was already deleted by someone else:");
    std::fs::write(&input, "# a\n1\nFAIL\n")?;
    let mut temps = Vec::new();
    let err = process_with(&input, dir.path(), &mut temps, true).unwrap_err();
    println!("  error: {err}");
    if let Some(cleanup) = err.cleanup() {
        println!("  cleanup error reported beside it (not swallowed): {cleanup}");
    }
    println!(
        "  temp files left: {}",
        temps.iter().filter(|p| p.exists()).count()
    );
    Ok(())
}
