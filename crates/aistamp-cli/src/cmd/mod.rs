//! One module per command; each takes its parsed arguments and the
//! settings and writes its output to the writer given.

pub(crate) mod audit;
pub(crate) mod completions;
pub(crate) mod config;
pub(crate) mod migrate;
pub(crate) mod policy;
pub(crate) mod report;
pub(crate) mod scan;
pub(crate) mod stamp;
pub(crate) mod verify;
