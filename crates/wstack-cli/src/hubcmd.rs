//! `wstack hub`: the broadcast and rooms server (the protocol of the companion server of
//! Espruino's `ws` module). `{"join": "room"}` joins a room, `{"leave": "room"}` leaves it,
//! `{"room": "r", "msg": m}` sends `m` to every member of `r` (`"all"`: everyone); any other
//! message goes to everyone else.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::Value;
use wstack_async::{CloseCode, Message};
use wstack_hub::{Hub, HubConfig, HubError, Member, SlowPolicy, Verdict};

use crate::server::{ServerOpts, serve_until_signal};
use crate::util::{escape_short, log};

/// Options of `wstack hub`.
#[derive(Args, Clone, Debug)]
pub(crate) struct HubOpts {
    #[command(flatten)]
    server: ServerOpts,
    /// Bytes queued per client beyond the message being written.
    #[arg(long, default_value_t = 1 << 20)]
    queue_limit: usize,
    /// Drop a slow client's oldest messages instead of closing it with 1008.
    #[arg(long)]
    drop_oldest: bool,
    /// Most clients at once (more: closed with 1013).
    #[arg(long, default_value_t = 10_000)]
    max_clients: usize,
    /// Rooms one client may join.
    #[arg(long, default_value_t = 16)]
    max_rooms_per_client: usize,
    /// Rooms in total.
    #[arg(long, default_value_t = 1_000)]
    max_rooms: usize,
    /// Largest JSON command, in bytes (larger: close 1009).
    #[arg(long, default_value_t = 64 << 10)]
    max_json_size: usize,
    /// Deepest nesting of a JSON command (deeper: close 1008).
    #[arg(long, default_value_t = 16)]
    max_json_depth: usize,
}

pub(crate) async fn run(opts: HubOpts) -> Result<(), String> {
    let tls = opts.server.tls()?;
    let listener =
        tokio::net::TcpListener::from_std(opts.server.listen()?).map_err(|e| e.to_string())?;
    let server = opts
        .server
        .configure(wstack_tokio::Server::new(listener), tls);
    let mut config = HubConfig::default();
    config.queue_limit = opts.queue_limit;
    config.max_clients = opts.max_clients;
    config.max_rooms_per_client = opts.max_rooms_per_client;
    config.max_rooms = opts.max_rooms;
    config.close_grace = Duration::from_secs(2);
    if opts.drop_oldest {
        config.policy = SlowPolicy::DropOldest;
    }
    let hub = Hub::new(config);
    let handle = server.shutdown_handle();
    let http = opts.server.http_handler();
    let opts = Arc::new(opts);
    let (d, w) = (Arc::clone(&opts), Arc::clone(&opts));
    let quiet = opts.server.quiet;
    let serve = server.serve_with_http(
        move |r| d.server.decide(r),
        move |mut ws, _req| {
            let hub = hub.clone();
            let opts = Arc::clone(&w);
            async move {
                let Ok(member) = hub.register() else {
                    let _ = ws.close(CloseCode::TRY_AGAIN_LATER, "hub full").await;
                    return;
                };
                let id = member.id();
                let timer: Arc<dyn wstack_async::Timer> = Arc::new(wstack_tokio::TokioTimer);
                let ended = member
                    .run(ws, Some(timer), |m, msg| on_message(&opts, m, &msg))
                    .await;
                log(opts.server.quiet, &format!("client {id} left ({ended:?})"));
            }
        },
        http,
    );
    serve_until_signal(
        serve,
        &handle,
        quiet,
        "shutting down: closing clients with 1001",
    )
    .await
}

/// Nesting depth of a JSON text, counted without parsing (brackets outside strings), so a
/// deeply nested message is refused before any recursion. `None` when deeper than `max`.
pub(crate) fn json_depth_within(text: &str, max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return false;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

fn close(code: CloseCode, reason: &str) -> Verdict {
    Verdict::Close(code, reason.to_owned())
}

/// What a message from a client does in the hub.
pub(crate) fn on_message(opts: &HubOpts, member: &Member, msg: &Message) -> Verdict {
    let Message::Text(text) = msg else {
        member.broadcast_others(msg);
        return Verdict::Continue;
    };
    let looks_json = text.trim_start().starts_with('{');
    if !looks_json {
        member.broadcast_others(msg);
        return Verdict::Continue;
    }
    if text.len() > opts.max_json_size {
        return close(CloseCode::TOO_BIG, "JSON command too large");
    }
    if !json_depth_within(text, opts.max_json_depth) {
        return close(CloseCode::POLICY, "JSON nested too deeply");
    }
    let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
        member.broadcast_others(msg);
        return Verdict::Continue;
    };
    let refused = |e: HubError| {
        log(
            opts.server.quiet,
            &format!("client {} refused: {e}", member.id()),
        );
        close(CloseCode::POLICY, &e.to_string())
    };
    if let Some(room) = obj.get("join").and_then(Value::as_str) {
        return match member.join(room) {
            Ok(()) => Verdict::Continue,
            Err(e) => refused(e),
        };
    }
    if let Some(room) = obj.get("leave").and_then(Value::as_str) {
        member.leave(room);
        return Verdict::Continue;
    }
    if let (Some(room), Some(m)) = (obj.get("room").and_then(Value::as_str), obj.get("msg")) {
        let out = Message::Text(match m {
            Value::String(s) => s.clone().into(),
            other => other.to_string().into(),
        });
        if room == "all" {
            member.broadcast(&out);
        } else {
            let n = member.send_room(room, &out, true);
            if n == 0 {
                log(
                    opts.server.quiet,
                    &format!(
                        "client {}: room {} is empty",
                        member.id(),
                        escape_short(room, 64)
                    ),
                );
            }
        }
        return Verdict::Continue;
    }
    member.broadcast_others(msg);
    Verdict::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_is_counted_outside_strings() {
        assert!(json_depth_within(r#"{"a":[1,{"b":2}]}"#, 3));
        assert!(!json_depth_within(r#"{"a":[1,{"b":2}]}"#, 2));
        assert!(json_depth_within(r#"{"a":"[[[[[[\"{{{{"}"#, 1));
        assert!(!json_depth_within(&"[".repeat(10_000), 16));
    }
}
