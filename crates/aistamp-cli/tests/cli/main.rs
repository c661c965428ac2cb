//! End-to-end tests of the `aistamp` binary: each runs the real program in
//! a temporary directory against SQLite files or the test PostgreSQL server.

mod support;

mod config;
mod errors;
mod fixture;
mod help;
mod policy;
mod postgres;
mod report;
mod scan;
mod stamp;
mod verify;
