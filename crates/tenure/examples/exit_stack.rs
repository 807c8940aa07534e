//! Seed pattern 9: a dynamic number of resources with `ExitStack`.
//!
//! Opens N files. If opening one fails, the ones already opened are closed (last first)
//! before the error is returned. On success, `pop_all` hands every open file to the caller,
//! who reads them and closes them all with one `close()` that returns any close error.
//!
//! Run: `cargo run -p tenure --example exit_stack`

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use tenure::stack::Handle;
use tenure::{Close, ExitStack};

/// A file that says when it is closed, so the printout shows the release order.
struct LoggedFile {
    name: String,
    file: File,
}

impl LoggedFile {
    fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let name = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        println!("  opened {name}");
        Ok(LoggedFile { name, file })
    }
}

impl Close for LoggedFile {
    type Error = io::Error;
    fn close(self) -> io::Result<()> {
        println!("  closed {}", self.name);
        drop(self.file);
        Ok(())
    }
}

/// Opens every path, or none: on the first failure the stack (dropped by `?`) closes the
/// files opened so far. On success the caller owns them all.
fn open_all(paths: &[PathBuf]) -> io::Result<(ExitStack<'static>, Vec<Handle<LoggedFile>>)> {
    let mut stack = ExitStack::new();
    let mut handles = Vec::with_capacity(paths.len());
    for path in paths {
        let file = LoggedFile::open(path).map_err(|e| {
            println!("  failed to open {}: {e}", path.display());
            e
        })?;
        handles.push(stack.named(path.display().to_string()).enter(file));
    }
    Ok((stack.pop_all(), handles))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let paths: Vec<PathBuf> = (1..=4)
        .map(|i| dir.path().join(format!("part-{i}.txt")))
        .collect();
    for (i, p) in paths.iter().enumerate().take(3) {
        std::fs::write(p, format!("contents of part {}\n", i + 1))?;
    }

    println!("1) four files, the fourth is missing:");
    match open_all(&paths) {
        Ok(_) => unreachable!("part-4.txt does not exist"),
        Err(e) => println!("  open_all failed ({e}); the three opened files were closed above"),
    }

    std::fs::write(&paths[3], "contents of part 4\n")?;
    println!("2) all four files exist:");
    let (mut files, handles) = open_all(&paths)?;
    println!("  open_all handed {} open files to the caller", files.len());
    let mut total = String::new();
    for h in &handles {
        files[*h].file.read_to_string(&mut total)?;
    }
    print!(
        "{}",
        total
            .lines()
            .map(|l| format!("  read: {l}\n"))
            .collect::<String>()
    );
    files.close()?; // last opened, first closed; a close error would be returned here
    println!("  all four closed");
    Ok(())
}
