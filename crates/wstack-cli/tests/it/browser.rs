//! Interop with a real browser: Debian's chromium, headless, against `wstack hub` serving
//! the chat example. The test drives chromium through the Chrome remote debugging protocol (CDP) over our own
//! WebSocket client (interop in the other direction, too).
//!
//! chromium comes from `crates/wstack-cli/scripts/install-chromium.sh` (`cargo xtask test` runs it). When it
//! is missing the test fails loudly, unless `WSTACK_SKIP_BROWSER=1` says to skip.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use wstack_tokio::Message;

use crate::{Server, bounded, temp_dir};

/// chromium, killed (and reaped) when dropped.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_chromium() -> Option<String> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            let ok = Command::new(name)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            ok.then(|| name.to_owned())
        })
}

/// Starts headless chromium with a CDP endpoint; returns it and the endpoint's URL.
fn launch(chromium: &str, profile: &Path) -> (Browser, String) {
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("ws://") {
                let _ = tx.send(line[at..].trim().to_owned());
            }
        }
    });
    let browser = Browser(child);
    let url = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("chromium printed its DevTools URL within 30 s");
    (browser, url)
}

/// A Chrome remote debugging protocol (CDP) session over our WebSocket client.
struct Cdp {
    ws: wstack_tokio::WebSocketStream,
    next: u64,
}

impl Cdp {
    async fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        for _ in 0..10_000 {
            let Some(Ok(Message::Text(t))) = self.ws.recv().await else {
                panic!("the DevTools connection ended");
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            if v["id"] == json!(id) {
                assert!(v.get("error").is_none(), "{method} failed: {v}");
                return v["result"].clone();
            }
        }
        panic!("no answer to {method}");
    }

    /// Opens a page and attaches to it; returns the session id.
    async fn open(&mut self, url: &str) -> String {
        let target = self
            .call(None, "Target.createTarget", json!({ "url": url }))
            .await;
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({ "targetId": target["targetId"], "flatten": true }),
            )
            .await;
        attached["sessionId"].as_str().unwrap().to_owned()
    }

    /// Evaluates `expr` in a page, awaiting a promise; returns the value.
    async fn eval(&mut self, session: &str, expr: &str) -> Value {
        let r = self
            .call(
                Some(session),
                "Runtime.evaluate",
                json!({ "expression": expr, "awaitPromise": true, "returnByValue": true }),
            )
            .await;
        assert!(
            r.get("exceptionDetails").is_none(),
            "{expr} threw: {}",
            r["exceptionDetails"]
        );
        r["result"]["value"].clone()
    }

    /// Evaluates until `expr` is defined (the page is still loading), for up to 10 s.
    async fn eval_ready(&mut self, session: &str, expr: &str) -> Value {
        for _ in 0..200 {
            let r = self
                .call(
                    Some(session),
                    "Runtime.evaluate",
                    json!({ "expression": expr, "awaitPromise": true, "returnByValue": true }),
                )
                .await;
            if r.get("exceptionDetails").is_none() {
                return r["result"]["value"].clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{expr} never evaluated");
    }
}

#[test]
fn chromium_chats_through_the_hub() {
    let Some(chromium) = find_chromium() else {
        let skip = std::env::var("WSTACK_SKIP_BROWSER").is_ok_and(|v| v == "1");
        eprintln!(
            "\n\n*** BROWSER TEST NOT RUN: chromium is not installed. ***\n\
             *** Install it with crates/wstack-cli/scripts/install-chromium.sh ***\n\
             *** (or set WSTACK_SKIP_BROWSER=1 to skip on purpose).            ***\n"
        );
        assert!(
            skip,
            "chromium is missing and WSTACK_SKIP_BROWSER=1 is not set"
        );
        return;
    };
    let chat = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/chat");
    let server = Server::start(&["hub", "--deflate", "--static", chat.to_str().unwrap()]);
    let page = format!("http://{}/", server.addr);
    let profile = temp_dir("chromium-profile");
    let (browser, devtools) = launch(&chromium, &profile);
    bounded(async move {
        let (ws, _) = wstack_tokio::connect(&devtools).await.unwrap();
        let mut cdp = Cdp { ws, next: 0 };
        let a = cdp.open(&page).await;
        let b = cdp.open(&page).await;

        // permessage-deflate was negotiated with the browser.
        for s in [&a, &b] {
            let ext = cdp.eval_ready(s, "window.chat.ready").await;
            let ext = ext.as_str().unwrap_or_default().to_owned();
            assert!(ext.contains("permessage-deflate"), "extensions: {ext:?}");
        }

        // Messages flow both ways between the two pages, through a room.
        cdp.eval(&a, "chat.join('r1'); true").await;
        cdp.eval(&b, "chat.join('r1'); true").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        cdp.eval(&a, "chat.say('r1', 'hello from A'); true").await;
        assert_eq!(
            cdp.eval(&b, "chat.waitFor('hello from A')").await,
            json!(true)
        );
        cdp.eval(&b, "chat.say('r1', 'hello from B ✓'); true").await;
        assert_eq!(
            cdp.eval(&a, "chat.waitFor('hello from B ✓')").await,
            json!(true)
        );
        // A large, compressible message (deflate in both directions; under the 64 KiB JSON cap).
        cdp.eval(&a, "chat.say('r1', 'x'.repeat(50000)); true")
            .await;
        assert_eq!(
            cdp.eval(&b, "chat.waitFor('x'.repeat(50000))").await,
            json!(true)
        );

        // A close from the server reaches the page with its code: deeply nested JSON is
        // refused with 1008.
        cdp.eval(
            &b,
            "chat.send('{\"a\":' + '['.repeat(50) + ']'.repeat(50) + '}'); true",
        )
        .await;
        assert_eq!(cdp.eval(&b, "chat.closed").await, json!(1008));
        // Ctrl-C on the server: 1001 (going away) reaches the other page.
        let status = tokio::task::spawn_blocking(move || server.interrupt());
        assert_eq!(cdp.eval(&a, "chat.closed").await, json!(1001));
        assert!(status.await.unwrap().success());
        let _ = cdp.call(None, "Browser.close", json!({})).await;
    });
    drop(browser);
    let _ = std::fs::remove_dir_all(profile);
}
