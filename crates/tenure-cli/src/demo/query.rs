//! The query: the committed records stream back, row by row, through a `stream::Meter`
//! (time to first row, rows, bytes, gaps between rows) into an `Accumulator` (the export,
//! built in O(n)), inside one read-only transaction; the export is written once the stream
//! has ended well.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use tenure::pool::{Pool, PoolError};
use tenure::stream::{Accumulator, Gaps, Meter, StepError, StreamMetrics};
use tenure::testing::{InjectedFault, Ledger, Op};
use tenure::tx::{Mode, Options, TxError};
use tenure_sqlite::Manager;

use super::progress::Progress;
use super::Stop;

/// The ledger kind of the query's stream (live from the query's start to the stream's end),
/// and the kind its faults are planned for (`Op::Statement`: a row of the query).
pub const STREAM: &str = "query stream";
/// The ledger kind of the export file while it is being written.
pub const EXPORT: &str = "export file";

/// What the query did.
pub struct Streamed {
    pub metrics: StreamMetrics,
    pub gaps: Gaps,
    /// Rows that came through before the stream ended.
    pub rows: u64,
    /// The export, when the stream ended well.
    pub export: Option<PathBuf>,
}

/// Why a row of the stream did not come.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    #[error("could not read row {row}")]
    Sqlite {
        row: u64,
        #[source]
        cause: rusqlite::Error,
    },
    #[error("could not read row {row}")]
    Injected {
        row: u64,
        #[source]
        cause: InjectedFault,
    },
    #[error("stopped at row {row}: the job was halted")]
    Halted { row: u64 },
}

/// Why the query failed.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("could not get a connection")]
    Pool(#[source] PoolError<tenure_sqlite::Error>),
    #[error("the query failed")]
    Tx(#[source] Box<TxError<StreamError, tenure_sqlite::Error>>),
    #[error("could not write the export `{}`", path.display())]
    Export {
        path: PathBuf,
        #[source]
        cause: std::io::Error,
    },
}

/// Why the stream ended early.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error("could not prepare the query")]
    Prepare(#[source] rusqlite::Error),
    #[error("the stream failed after {rows} rows")]
    Row {
        rows: u64,
        #[source]
        cause: StepError<RowError>,
    },
}

/// Streams every committed record into the export `dir/export.csv`.
pub fn run(
    pool: &Pool<Manager>,
    dir: &Path,
    ledger: &Ledger,
    stop: &Stop,
    progress: &Progress,
    streamed: &mut Option<Streamed>,
) -> Result<(), QueryError> {
    let mut conn = pool.get_blocking().map_err(QueryError::Pool)?;
    let read = Options {
        mode: Mode::ReadOnly,
        ..Options::default()
    };
    let content = read
        .run(&mut *conn, |tx| {
            let stream = ledger.track(STREAM);
            let mut stmt = tx
                .prepare(
                    "SELECT file, line, customer, amount_cents FROM records ORDER BY file, line",
                )
                .map_err(StreamError::Prepare)?;
            let faults = ledger.faults().clone();
            let row = AtomicU64::new(0);
            let rows = stmt
                .query_map([], |r| {
                    Ok(format!(
                        "{},{},{},{}\n",
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?
                    ))
                })
                .map_err(StreamError::Prepare)?
                .map(|item| {
                    let n = row.fetch_add(1, Ordering::Relaxed) + 1;
                    if stop.halted() {
                        return Err(RowError::Halted { row: n });
                    }
                    faults
                        .check(Op::Statement, STREAM)
                        .map_err(|cause| RowError::Injected { row: n, cause })?;
                    item.map_err(|cause| RowError::Sqlite { row: n, cause })
                });
            let mut steps = Meter::new(rows)
                .name("query")
                .accumulate(Accumulator::<str>::new());
            let mut count = 0u64;
            let mut failed = None;
            while let Some(step) = steps.next_step() {
                match step {
                    Ok(_) => {
                        count += 1;
                        if count % 256 == 0 {
                            progress.rows(256);
                        }
                    }
                    Err(cause) => {
                        failed = Some(cause);
                        break;
                    }
                }
            }
            progress.rows(count % 256);
            let (meter, acc) = steps.into_parts();
            *streamed = Some(Streamed {
                metrics: meter.metrics(),
                gaps: meter.gaps(),
                rows: count,
                export: None,
            });
            drop(meter);
            stream.release();
            match failed {
                Some(cause) => Err(StreamError::Row { rows: count, cause }),
                None => Ok(acc.into_inner()),
            }
        })
        .map_err(|e| QueryError::Tx(Box::new(e)))?;
    drop(conn);

    let path = dir.join("export.csv");
    let export = ledger.track(EXPORT);
    std::fs::write(&path, format!("file,line,customer,amount_cents\n{content}")).map_err(
        |cause| QueryError::Export {
            path: path.clone(),
            cause,
        },
    )?;
    export.release();
    if let Some(s) = streamed {
        s.export = Some(path);
    }
    Ok(())
}
