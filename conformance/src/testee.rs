//! Our own implementation under test: the plug-in point for the runtime adapters.
//!
//! Each runtime provides two functions, registered in [`testee`]:
//! - a **server** that accepts WebSocket connections on the given listener and echoes every
//!   message (text as text, binary as binary), with permessage-deflate if asked;
//! - a **client** that runs every case of an Autobahn-protocol fuzzing server at `url`
//!   (`/getCaseCount`, `/runCase?case=N&agent=A` echoing every message, `/updateReports`).
//!
//! Until an adapter exists its entry says so, and every run that needs it reports
//! "not available" instead of a verdict.

use std::fmt;
use std::io;
use std::str::FromStr;

/// A runtime our adapters support.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Runtime {
    /// `wstack-tokio`.
    Tokio,
    /// `wstack-async-std`.
    AsyncStd,
    /// `wstack-smol`.
    Smol,
}

impl Runtime {
    /// Every runtime, in report order.
    pub const ALL: [Self; 3] = [Self::Tokio, Self::AsyncStd, Self::Smol];

    /// The name used on the command line and in file names.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Tokio => "tokio",
            Self::AsyncStd => "async-std",
            Self::Smol => "smol",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Runtime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown runtime `{s}` (tokio, async-std, smol)"))
    }
}

/// An echo server: serves `listener` until the process ends (blocking; it runs its own
/// runtime). `deflate` turns permessage-deflate on.
pub type ServerFn = fn(listener: std::net::TcpListener, deflate: bool) -> io::Result<()>;

/// A test client: runs every case of the fuzzing server at `url` as `agent`, then asks it
/// to write its reports (blocking).
pub type ClientFn = fn(url: &str, agent: &str, deflate: bool) -> io::Result<()>;

/// The testee of one runtime.
#[derive(Clone, Copy, Debug)]
pub struct Testee {
    /// The echo server.
    pub server: ServerFn,
    /// The test client.
    pub client: ClientFn,
}

/// Why a testee cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotAvailable {
    /// The runtime asked for.
    pub runtime: Runtime,
    /// What is missing.
    pub why: &'static str,
}

impl fmt::Display for NotAvailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "testee for runtime {} is not available yet: {}",
            self.runtime, self.why
        )
    }
}

impl std::error::Error for NotAvailable {}

/// The testee of `runtime`: **the plug-in point**. When an adapter lands, replace its arm
/// with `Ok(Testee { server: tokio_echo_server, client: tokio_test_client })` (functions of
/// the shapes [`ServerFn`] and [`ClientFn`], in a module of this crate).
#[allow(clippy::unnecessary_wraps)] // every runtime has its testee now; the Result stays the plug-in contract
pub fn testee(runtime: Runtime) -> Result<Testee, NotAvailable> {
    use crate::testees as t;
    Ok(match runtime {
        Runtime::Tokio => Testee {
            server: t::tokio_server,
            client: t::tokio_client,
        },
        Runtime::AsyncStd => Testee {
            server: t::async_std_server,
            client: t::async_std_client,
        },
        Runtime::Smol => Testee {
            server: t::smol_server,
            client: t::smol_client,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtimes_parse_and_have_testees() {
        for r in Runtime::ALL {
            assert_eq!(r.name().parse::<Runtime>(), Ok(r));
            assert!(testee(r).is_ok());
        }
        assert!("tokio2".parse::<Runtime>().is_err());
    }
}
