//! The `wstack-conformance` command line. Run without arguments for usage.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use wstack_conformance::case::Case;
use wstack_conformance::client::{self, ClientOptions};
use wstack_conformance::runner::{self, Config, Outcome, Side};
use wstack_conformance::server::{self, FuzzingServer};
use wstack_conformance::testee::{Runtime, testee};
use wstack_conformance::{catalogue, report, select};

const USAGE: &str = "\
usage: wstack-conformance <command> [options]

commands:
  fuzzingclient --url ws://HOST:PORT [--agent NAME] [--cases P,..] [--exclude P,..] [--report DIR]
        test a server that echoes every message (like wstest -m fuzzingclient)
  fuzzingserver [--port PORT] [--host HOST] [--cases P,..] [--exclude P,..] [--report DIR]
        test clients over Autobahn's control protocol (like wstest -m fuzzingserver)
  compare --report DIR --expected FILE [--agent NAME] [--allow-unimplemented]
        compare a run's index.json with a golden file; fails on any difference and on
        FAILED (or UNIMPLEMENTED unless allowed)
  golden --report DIR [--agent NAME]
        print the golden file of a run (id, behavior, behaviorClose per line)
  list [--cases P,..] [--exclude P,..]
        print the selected cases
  testee-server --runtime tokio|async-std|smol --port PORT [--deflate [--deflate-level N]]
        our echo server, for any fuzzing client
  testee-client --runtime tokio|async-std|smol --url ws://HOST:PORT --agent NAME
      [--deflate [--deflate-level N]]
        our client, for any Autobahn-protocol fuzzing server
  run --runtime R --side server|client [--deflate [--deflate-level N]] [--cases ..] [--exclude ..] [--report DIR]
      [--expected-dir DIR] [--bless]
        one configuration: our testee against the suite, reports, golden comparison
        (exit 0 passed, 1 failed, 3 testee not available)

Case patterns are Autobahn's: `1.*`, `6.4.*`, `7.7.1`.
";

struct Args {
    flags: BTreeMap<String, String>,
}

impl Args {
    fn parse(rest: &[String]) -> Result<Self, String> {
        let mut flags = BTreeMap::new();
        let mut it = rest.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                return Err(format!("unexpected argument `{a}`"));
            };
            let boolean = matches!(name, "deflate" | "bless" | "allow-unimplemented" | "quiet");
            let value = if boolean {
                "true".to_owned()
            } else {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("--{name} needs a value"))?
            };
            flags.insert(name.to_owned(), value);
        }
        Ok(Self { flags })
    }
    fn get(&self, k: &str) -> Option<&str> {
        self.flags.get(k).map(String::as_str)
    }
    fn need(&self, k: &str) -> Result<&str, String> {
        self.get(k).ok_or_else(|| format!("--{k} is required"))
    }
    fn on(&self, k: &str) -> bool {
        self.get(k).is_some()
    }
    fn cases(&self, default_exclude: &[String]) -> Vec<Case> {
        let include = self.get("cases").map(select::patterns).unwrap_or_default();
        let exclude = self
            .get("exclude")
            .map_or_else(|| default_exclude.to_vec(), select::patterns);
        select::select(catalogue::all(), &include, &exclude)
    }
    fn report(&self, default: &str) -> PathBuf {
        PathBuf::from(self.get("report").unwrap_or(default))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = argv.first() else {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    };
    let result = Args::parse(&argv[1..]).and_then(|args| dispatch(cmd, &args));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wstack-conformance: {e}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cmd: &str, args: &Args) -> Result<ExitCode, String> {
    match cmd {
        "fuzzingclient" => {
            let cases = args.cases(&[]);
            let opts = ClientOptions {
                progress: !args.on("quiet"),
                ..ClientOptions::new(
                    args.need("url")?.to_owned(),
                    args.get("agent").unwrap_or("server").to_owned(),
                )
            };
            let dir = args.report("reports/servers");
            let results = runtime()?
                .block_on(client::run(&opts, &cases, &dir))
                .map_err(|e| e.to_string())?;
            let index = report::write_reports(&dir, &results).map_err(|e| e.to_string())?;
            print!("{}", report::counts_table(&index));
            println!("reports: {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
        "fuzzingserver" => {
            let cases = args.cases(&[]);
            let port: u16 = args
                .get("port")
                .unwrap_or("9001")
                .parse()
                .map_err(|e| format!("--port: {e}"))?;
            let host = args.get("host").unwrap_or("127.0.0.1");
            eprintln!("fuzzingserver: {} cases", cases.len());
            let srv = FuzzingServer::new(cases, args.report("reports/clients"), !args.on("quiet"));
            runtime()?
                .block_on(server::run(host, port, srv))
                .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        "compare" | "golden" => compare(cmd, args),
        "list" => {
            for c in args.cases(&[]) {
                println!("{}\t{}", c.id, c.description);
            }
            Ok(ExitCode::SUCCESS)
        }
        "testee-server" => {
            let rt: Runtime = args.need("runtime")?.parse()?;
            let port: u16 = args
                .need("port")?
                .parse()
                .map_err(|e| format!("--port: {e}"))?;
            let t = testee(rt).map_err(|e| e.to_string())?;
            let listener =
                std::net::TcpListener::bind(("127.0.0.1", port)).map_err(|e| e.to_string())?;
            (t.server)(listener, testee_deflate(args)?).map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        "testee-client" => {
            let rt: Runtime = args.need("runtime")?.parse()?;
            let t = testee(rt).map_err(|e| e.to_string())?;
            (t.client)(
                args.need("url")?,
                args.need("agent")?,
                testee_deflate(args)?,
            )
            .map_err(|e| e.to_string())?;
            Ok(ExitCode::SUCCESS)
        }
        "run" => run(args),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    }
}

fn compare(cmd: &str, args: &Args) -> Result<ExitCode, String> {
    let dir = args.report("reports/servers");
    let bytes = std::fs::read(dir.join("index.json"))
        .map_err(|e| format!("{}: {e}", dir.join("index.json").display()))?;
    let index: report::Index = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    let agent = match args.get("agent") {
        Some(a) => a.to_owned(),
        None if index.len() == 1 => index.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err("index.json holds several agents: pick one with --agent".to_owned());
        }
    };
    let run = index
        .get(&agent)
        .ok_or_else(|| format!("no agent `{agent}` in index.json"))?;
    if cmd == "golden" {
        print!("{}", report::golden_text(run));
        return Ok(ExitCode::SUCCESS);
    }
    let path = args.need("expected")?;
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let golden = report::parse_golden(&text)?;
    let cmp = report::compare(run, &golden, args.on("allow-unimplemented"));
    for d in &cmp.differences {
        println!("DIFF {d}");
    }
    for f in &cmp.failures {
        println!("FAIL {f}");
    }
    println!(
        "{}: {} cases, {} differences, {} failures",
        agent,
        run.len(),
        cmp.differences.len(),
        cmp.failures.len()
    );
    Ok(if cmp.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `--deflate-level N`: the zlib level of our testee (0-9), when given.
fn deflate_level(args: &Args) -> Result<Option<u32>, String> {
    args.get("deflate-level")
        .map(|v| match v.parse::<u32>() {
            Ok(n) if n <= 9 => Ok(n),
            _ => Err(format!("--deflate-level {v}: expected 0 to 9")),
        })
        .transpose()
}

/// The testee's permessage-deflate settings from `--deflate` and `--deflate-level`.
fn testee_deflate(args: &Args) -> Result<Option<wstack_async::DeflateConfig>, String> {
    Ok(runner::testee_deflate(
        args.on("deflate"),
        deflate_level(args)?,
    ))
}

fn run(args: &Args) -> Result<ExitCode, String> {
    let config = Config {
        runtime: args.need("runtime")?.parse()?,
        side: args.need("side")?.parse::<Side>()?,
        deflate: args.on("deflate"),
        deflate_level: deflate_level(args)?,
    };
    let cases = args.cases(&config.default_exclude());
    let dir = args.report(&format!("target/conformance/{config}"));
    let golden = runner::golden_path(
        &PathBuf::from(args.get("expected-dir").unwrap_or("conformance/expected")),
        config,
    );
    match runner::run(config, cases, &dir, &golden, args.on("bless")).map_err(|e| e.to_string())? {
        Outcome::NotAvailable(na) => {
            println!("{config}: NOT AVAILABLE ({na})");
            Ok(ExitCode::from(3))
        }
        Outcome::Passed(index) => {
            print!("{}", report::counts_table(&index));
            println!("{config}: PASSED (matches {})", golden.display());
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Failed(index, cmp) => {
            print!("{}", report::counts_table(&index));
            for d in &cmp.differences {
                println!("DIFF {d}");
            }
            for f in &cmp.failures {
                println!("FAIL {f}");
            }
            println!(
                "{config}: FAILED ({} differences, {} failures; reports in {})",
                cmp.differences.len(),
                cmp.failures.len(),
                dir.display()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
