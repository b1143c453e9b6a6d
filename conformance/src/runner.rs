//! One conformance configuration (runtime x side x deflate): start our testee, run the
//! suite against it, write the reports, compare with the golden file.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use wstack_async::DeflateConfig;

use crate::case::Case;
use crate::client::{self, ClientOptions};
use crate::report::{self, Comparison};
use crate::server::FuzzingServer;
use crate::testee::{NotAvailable, Runtime, testee};

/// Which of our endpoints is tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// Our server, tested by the fuzzing client.
    Server,
    /// Our client, tested by the fuzzing server.
    Client,
}

impl Side {
    /// Both sides.
    pub const ALL: [Self; 2] = [Self::Server, Self::Client];

    /// The name used on the command line and in file names.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Server => "server",
            Self::Client => "client",
        }
    }
}

impl FromStr for Side {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| format!("unknown side `{s}` (server, client)"))
    }
}

/// One configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Config {
    /// The runtime.
    pub runtime: Runtime,
    /// The side tested.
    pub side: Side,
    /// permessage-deflate on.
    pub deflate: bool,
    /// The zlib level our testee compresses at when `deflate` is on (`None`: the library's
    /// default, 6). Verdicts do not depend on it; the time of sections 12 and 13 does.
    pub deflate_level: Option<u32>,
}

impl fmt::Display for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}{}",
            self.runtime,
            self.side.name(),
            if self.deflate { "-deflate" } else { "" }
        )
    }
}

impl Config {
    /// Every configuration: 3 runtimes x 2 sides x deflate off/on.
    pub fn all() -> Vec<Self> {
        let mut v = Vec::new();
        for runtime in Runtime::ALL {
            for side in Side::ALL {
                for deflate in [false, true] {
                    v.push(Self {
                        runtime,
                        side,
                        deflate,
                        deflate_level: None,
                    });
                }
            }
        }
        v
    }

    /// The permessage-deflate settings of our testee, `None` when off.
    pub fn testee_deflate(&self) -> Option<DeflateConfig> {
        testee_deflate(self.deflate, self.deflate_level)
    }

    /// The case patterns excluded by default: 12.x and 13.x need deflate.
    pub fn default_exclude(&self) -> Vec<String> {
        if self.deflate {
            Vec::new()
        } else {
            vec!["12.*".to_owned(), "13.*".to_owned()]
        }
    }
}

/// A testee's permessage-deflate settings: `None` when `on` is false, else the defaults
/// with `level` if given.
pub fn testee_deflate(on: bool, level: Option<u32>) -> Option<DeflateConfig> {
    on.then(|| match level {
        Some(l) => DeflateConfig::client().level(l),
        None => DeflateConfig::client(),
    })
}

/// How a configuration went.
#[derive(Debug)]
pub enum Outcome {
    /// Ran, and matched the golden file with no FAILED/UNIMPLEMENTED.
    Passed(report::Index),
    /// Ran, and differed from the golden file or had failures.
    Failed(report::Index, Comparison),
    /// Did not run: the testee does not exist yet.
    NotAvailable(NotAvailable),
}

/// Runs `config` over `cases`, writes reports under `report_dir`, and compares with
/// `golden` (or writes it when `bless`).
pub fn run(
    config: Config,
    cases: Vec<Case>,
    report_dir: &Path,
    golden: &Path,
    bless: bool,
) -> io::Result<Outcome> {
    let t = match testee(config.runtime) {
        Ok(t) => t,
        Err(na) => return Ok(Outcome::NotAvailable(na)),
    };
    let agent = format!("wstack-{config}");
    report::forget_agent(report_dir, &agent)?;
    // A narrowed run (`--cases`) is compared on the cases it ran only.
    let selected: std::collections::BTreeSet<String> =
        cases.iter().map(|c| c.id.to_string()).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let results = match config.side {
        Side::Server => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let deflate = config.testee_deflate();
            std::thread::spawn(move || (t.server)(listener, deflate));
            let opts = ClientOptions {
                progress: true,
                ..ClientOptions::new(format!("ws://{addr}"), agent.clone())
            };
            rt.block_on(client::run(&opts, &cases, report_dir))?
        }
        Side::Client => {
            let server = FuzzingServer::new(cases, report_dir.to_path_buf(), true);
            let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
            let addr = listener.local_addr()?;
            rt.spawn(std::sync::Arc::clone(&server).serve(listener));
            let url = format!("ws://{addr}");
            let (a, deflate) = (agent.clone(), config.testee_deflate());
            // The client blocks (it runs its own runtime): a thread of its own, joined from
            // inside the runtime so that the fuzzing server keeps running meanwhile.
            let client = std::thread::spawn(move || (t.client)(&url, &a, deflate));
            rt.block_on(async {
                while !client.is_finished() {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            });
            client
                .join()
                .map_err(|_| io::Error::other("the testee client panicked"))??;
            server.write_reports()?;
            server.results()
        }
    };
    let index = report::write_reports(report_dir, &results)?;
    let run = index.get(&agent).cloned().unwrap_or_default();
    if bless {
        if let Ok(old) = fs::read_to_string(golden) {
            let old = report::parse_golden(&old).map_err(io::Error::other)?;
            if old.keys().any(|id| !selected.contains(id)) {
                return Err(io::Error::other(
                    "--bless needs every case of the configuration (drop --cases)",
                ));
            }
        }
        if let Some(dir) = golden.parent() {
            fs::create_dir_all(dir)?;
        }
        fs::write(golden, report::golden_text(&run))?;
    }
    let text = fs::read_to_string(golden).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!(
                "golden file {}: {e} (write it with --bless)",
                golden.display()
            ),
        )
    })?;
    let mut expected = report::parse_golden(&text).map_err(io::Error::other)?;
    expected.retain(|id, _| selected.contains(id));
    let cmp = report::compare(&run, &expected, false);
    Ok(if cmp.passed() {
        Outcome::Passed(index)
    } else {
        Outcome::Failed(index, cmp)
    })
}

/// The golden file of `config` under `dir`.
pub fn golden_path(dir: &Path, config: Config) -> PathBuf {
    dir.join(format!("{config}.txt"))
}
