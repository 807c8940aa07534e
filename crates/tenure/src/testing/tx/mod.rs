//! Testing transactions (feature `testing`): a scripted connection whose control
//! statements can be delayed, hung, failed or rejected and which records what reached "the
//! server" ([`Server`], [`ScriptedConnection`]).

mod scripted;

pub use scripted::{Rejection, ScriptedConnection, ScriptedError, Server};
