//! The per-connection statement cache of [`Client::prepare_cached`](crate::Client::prepare_cached):
//! one cell per query text, so concurrent prepares of one query wait on a single `PREPARE`
//! (as deadpool-postgres does since 0.14.2).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use tokio_postgres::Statement;

#[derive(Debug, Default)]
pub(crate) struct StatementCache {
    cells: Mutex<HashMap<String, Arc<OnceCell<Statement>>>>,
}

impl StatementCache {
    /// The statement for `query` if it is prepared (the common case: one lock, one
    /// lookup, one clone); else the cell to fill, shared by every caller that finds it
    /// empty — filled by the first prepare that finishes; a prepare that fails or is dropped
    /// leaves it empty for the next caller.
    pub(crate) fn lookup(&self, query: &str) -> Result<Statement, Arc<OnceCell<Statement>>> {
        let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(cell) = cells.get(query) {
            return match cell.get() {
                Some(statement) => Ok(statement.clone()),
                None => Err(cell.clone()),
            };
        }
        let cell = Arc::new(OnceCell::new());
        cells.insert(query.to_owned(), cell.clone());
        Err(cell)
    }

    pub(crate) fn len(&self) -> usize {
        let cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        cells.values().filter(|c| c.initialized()).count()
    }

    pub(crate) fn clear(&self) {
        self.cells.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
