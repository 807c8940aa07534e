//! Exit codes, one set for every verb: where two verbs mean the same thing they use the
//! same number (`timeout(1)`'s and the shells' where those have one).

/// The job ran and everything checked out (`tenure demo`).
pub const OK: u8 = 0;
/// The job failed (an injected or a real error), and everything was rolled back and
/// released (`tenure demo`).
pub const JOB_FAILED: u8 = 1;
/// Usage error (clap's, and `tenure demo --keep` into a directory that exists).
pub const USAGE: u8 = 2;
/// Something leaked or a check failed (`tenure demo`).
pub const CHECK_FAILED: u8 = 3;
/// `--timeout` passed (as `timeout(1)`).
#[cfg_attr(not(unix), allow(dead_code))]
pub const TIMED_OUT: u8 = 124;
/// tenure itself failed, or could not run (as `timeout(1)`).
pub const FAILED: u8 = 125;
/// The command exists but cannot be executed.
#[cfg_attr(not(unix), allow(dead_code))]
pub const NOT_EXECUTABLE: u8 = 126;
/// The command was not found.
#[cfg_attr(not(unix), allow(dead_code))]
pub const NOT_FOUND: u8 = 127;
/// Interrupted (Ctrl-C, SIGTERM, SIGHUP to tenure): 128 + SIGINT.
pub const INTERRUPTED: u8 = 130;
/// Our output closed (the reader of our stdout went away): 128 + SIGPIPE.
#[cfg_attr(not(unix), allow(dead_code))]
pub const OUTPUT_CLOSED: u8 = 141;
