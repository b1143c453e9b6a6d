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
use std::future::Future;
use std::io;
use std::str::FromStr;

use wstack_async::DeflateConfig;

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
/// runtime). `deflate` turns permessage-deflate on with those settings.
pub type ServerFn =
    fn(listener: std::net::TcpListener, deflate: Option<DeflateConfig>) -> io::Result<()>;

/// A test client: runs every case of the fuzzing server at `url` as `agent`, then asks it
/// to write its reports (blocking). `deflate` offers permessage-deflate with those settings.
pub type ClientFn = fn(url: &str, agent: &str, deflate: Option<DeflateConfig>) -> io::Result<()>;

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

/// Runs Autobahn's client protocol against the fuzzing server at `base`
/// (`ws://127.0.0.1:9001`): `/getCaseCount`, every `/runCase?case=N&agent=A`, then
/// `/updateReports?agent=A`. Returns the number of cases.
///
/// `session(url)` opens one WebSocket connection to `url` with the client under test,
/// echoes every text and binary message until the connection ends, and returns the first
/// text message it received (that is how the case count arrives). A [`ClientFn`] is then
/// a few lines: build a runtime, and call this with the runtime's `session`. A case whose
/// session fails is left to the fuzzing server to judge; only the control connections
/// must succeed.
pub async fn run_client_protocol<F, Fut>(
    base: &str,
    agent: &str,
    mut session: F,
) -> io::Result<usize>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = io::Result<Option<String>>>,
{
    let base = base.trim_end_matches('/');
    let agent = encode(agent);
    let count = session(format!("{base}/getCaseCount"))
        .await?
        .and_then(|t| t.trim().parse::<usize>().ok())
        .ok_or_else(|| io::Error::other("the fuzzing server sent no case count"))?;
    for n in 1..=count {
        let _ = session(format!("{base}/runCase?case={n}&agent={agent}")).await;
    }
    session(format!("{base}/updateReports?agent={agent}")).await?;
    Ok(count)
}

/// Percent-encodes everything but unreserved characters (RFC 3986 §2.3).
fn encode(s: &str) -> String {
    use std::fmt::Write as _;
    s.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
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

    #[test]
    fn agents_are_percent_encoded() {
        assert_eq!(encode("wstack tokio/1.0"), "wstack%20tokio%2F1.0");
    }
}
