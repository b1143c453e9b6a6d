//! `wstack-conformance`: an Autobahn|Testsuite-style WebSocket conformance suite.
//!
//! It carries the cases of Autobahn's sections 1 to 7, 9, 10, 12 and 13 with the same ids,
//! traffic and verdicts, drives them as a fuzzing client (testing servers) or a fuzzing
//! server (testing clients, over Autobahn's control protocol), and writes Autobahn's
//! `index.json` with per-case JSON, an HTML index and a markdown summary.
//!
//! ```
//! use wstack_conformance::{catalogue, select};
//!
//! let cases = select::select(catalogue::all(), &select::patterns("6.4.*"), &[]);
//! let ids: Vec<String> = cases.iter().map(|c| c.id.to_string()).collect();
//! assert_eq!(ids, ["6.4.1", "6.4.2", "6.4.3", "6.4.4"]);
//! ```

#![forbid(unsafe_code)]

pub mod case;
pub mod catalogue;
pub mod client;
mod deflate;
pub mod judge;
pub mod report;
pub mod runner;
pub mod select;
pub mod server;
mod session;
mod testdata;
pub mod testee;
mod testees;
mod utf8_vectors;
