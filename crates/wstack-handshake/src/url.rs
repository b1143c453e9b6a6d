//! A small splitter for `ws://` and `wss://` URLs (RFC 6455 §3), enough to write a request.

use alloc::string::String;
use alloc::vec::Vec;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

use crate::error::HandshakeError;

/// What the request target may not hold as is: we percent-encode these (and all non-ASCII).
const TARGET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The parts of a WebSocket URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct WsUrl {
    pub(crate) tls: bool,
    /// The host as written, IPv6 literals with their brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, at least `/`.
    pub(crate) target: String,
    /// Percent-decoded `user:password` (or `user`).
    pub(crate) userinfo: Option<(Vec<u8>, Option<Vec<u8>>)>,
}

fn bad(reason: &'static str) -> HandshakeError {
    HandshakeError::InvalidUrl { reason }
}

impl WsUrl {
    pub(crate) fn parse(url: &str) -> Result<Self, HandshakeError> {
        let (scheme, rest) = url.split_once("://").ok_or(bad("no scheme"))?;
        let tls = if scheme.eq_ignore_ascii_case("wss") {
            true
        } else if scheme.eq_ignore_ascii_case("ws") {
            false
        } else {
            return Err(bad("the scheme must be ws or wss"));
        };
        // RFC 6455 §3: "Fragment identifiers are meaningless in the context of WebSocket URIs
        // and MUST NOT be used on these URIs."
        if rest.contains('#') {
            return Err(bad("a fragment is not allowed"));
        }
        let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(auth_end);
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport)?;
        let port = match port {
            Some(p) => p,
            None if tls => 443,
            None => 80,
        };
        let userinfo = userinfo.map(|ui| {
            let (user, pass) = match ui.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (ui, None),
            };
            let dec = |s: &str| percent_decode_str(s).collect::<Vec<u8>>();
            (dec(user), pass.map(dec))
        });
        let mut path = String::new();
        if !target.starts_with('/') {
            path.push('/');
        }
        path.extend(utf8_percent_encode(target, TARGET));
        Ok(Self {
            tls,
            host: String::from(host),
            port,
            target: path,
            userinfo,
        })
    }

    /// The `Host` header value: the port only when it is not the scheme's default (RFC 6455
    /// §4.1: "/host/ [...] followed by ":" and /port/ if a non-default port was used").
    pub(crate) fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            alloc::format!("{}:{}", self.host, self.port)
        }
    }
}

fn split_host_port(hp: &str) -> Result<(&str, Option<u16>), HandshakeError> {
    let (host, port) = if hp.starts_with('[') {
        let close = hp.find(']').ok_or(bad("unclosed IPv6 literal"))?;
        let inner = &hp[1..close];
        let ok = !inner.is_empty()
            && inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok {
            return Err(bad("invalid IPv6 literal"));
        }
        match &hp[close + 1..] {
            "" => (&hp[..=close], None),
            rest => (
                &hp[..=close],
                Some(
                    rest.strip_prefix(':')
                        .ok_or(bad("junk after IPv6 literal"))?,
                ),
            ),
        }
    } else {
        match hp.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hp, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    // reg-name and IPv4 (RFC 3986 §3.2.2): unreserved / pct-encoded / sub-delims.
    let host_ok = host.starts_with('[')
        || host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=".contains(&b));
    if !host_ok {
        return Err(bad("invalid character in host"));
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
            match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(bad("port out of range")),
            }
        }
        Some(_) => return Err(bad("invalid port")),
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(url: &str) -> WsUrl {
        WsUrl::parse(url).unwrap()
    }

    fn err(url: &str) -> &'static str {
        match WsUrl::parse(url) {
            Err(HandshakeError::InvalidUrl { reason }) => reason,
            other => panic!("{url}: {other:?}"),
        }
    }

    #[test]
    fn splits_the_parts() {
        let u = ok("wss://us%40er:p%3Aw:d@Example.com:8443/chat/x?a=1&b");
        assert!(u.tls);
        assert_eq!(u.host, "Example.com");
        assert_eq!(u.port, 8443);
        assert_eq!(u.target, "/chat/x?a=1&b");
        assert_eq!(
            u.userinfo,
            Some((b"us@er".to_vec(), Some(b"p:w:d".to_vec())))
        );
        assert_eq!(u.host_header(), "Example.com:8443");
    }

    #[test]
    fn defaults() {
        let u = ok("ws://h");
        assert_eq!(
            (u.port, u.target.as_str(), u.host_header().as_str()),
            (80, "/", "h")
        );
        let u = ok("WSS://h:443?q");
        assert_eq!(
            (u.port, u.target.as_str(), u.host_header().as_str()),
            (443, "/?q", "h")
        );
        assert_eq!(ok("ws://h:/").port, 80);
        assert_eq!(ok("ws://user@h/").userinfo, Some((b"user".to_vec(), None)));
    }

    #[test]
    fn ipv6() {
        let u = ok("ws://[::1]:9000/");
        assert_eq!((u.host.as_str(), u.port), ("[::1]", 9000));
        assert_eq!(u.host_header(), "[::1]:9000");
        assert_eq!(ok("ws://[2001:db8::1]").host_header(), "[2001:db8::1]");
        assert_eq!(err("ws://[::1"), "unclosed IPv6 literal");
        assert_eq!(err("ws://[zz]/"), "invalid IPv6 literal");
        assert_eq!(err("ws://[::1]x/"), "junk after IPv6 literal");
    }

    #[test]
    fn target_is_percent_encoded() {
        assert_eq!(
            ok("ws://h/a b/\u{e9}?x=\"y\"").target,
            "/a%20b/%C3%A9?x=%22y%22"
        );
        assert_eq!(ok("ws://h/a\r\nX: y").target, "/a%0D%0AX:%20y");
    }

    #[test]
    fn rejections() {
        assert_eq!(err("http://h/"), "the scheme must be ws or wss");
        assert_eq!(err("h/"), "no scheme");
        assert_eq!(err("ws://h/#frag"), "a fragment is not allowed");
        assert_eq!(err("ws:///path"), "no host");
        assert_eq!(err("ws://:80/"), "no host");
        assert_eq!(err("ws://h:65536/"), "port out of range");
        assert_eq!(err("ws://h:0/"), "port out of range");
        assert_eq!(err("ws://h:8a/"), "invalid port");
        assert_eq!(err("ws://h\r\nX:1/"), "invalid character in host");
        assert_eq!(err("ws://h\r\n/"), "invalid character in host");
        assert_eq!(err("ws://a b/"), "invalid character in host");
    }
}
