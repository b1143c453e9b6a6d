//! Negotiation of `permessage-deflate` (RFC 7692 §5 and §7.1) on parsed
//! `Sec-WebSocket-Extensions` values: the client's offer, the server's answer, the client's
//! check of that answer.

use alloc::borrow::ToOwned;
use alloc::string::String;
use core::fmt;

use wstack_handshake::extensions::ExtensionOffer;

use crate::codec::{PerMessageDeflate, Role};

/// The extension token (RFC 7692 §7).
pub const EXTENSION_NAME: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The largest LZ77 window, 32 KiB (RFC 7692 §7.1.2: 8 to 15).
pub const MAX_WINDOW_BITS: u8 = 15;
/// The smallest LZ77 window RFC 7692 allows, 256 bytes.
pub const MIN_WINDOW_BITS: u8 = 8;
/// The smallest window zlib can *compress* with (512 bytes). zlib refuses 8 for raw deflate,
/// so when a peer holds our compressor to 8 that direction is sent as stored blocks (level
/// 0, no back-references), which any window decodes.
pub const MIN_DEFLATE_WINDOW_BITS: u8 = 9;

/// What both ends agreed on: the complete configuration of one connection (RFC 7692 §7.1).
///
/// Window sizes are the base-2 logarithm of the LZ77 window; an absent parameter means 15.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after every message (§7.1.1.1).
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message (§7.1.1.2).
    pub client_no_context_takeover: bool,
    /// The largest window the server compresses with, 8..=15 (§7.1.2.1).
    pub server_max_window_bits: u8,
    /// The largest window the client compresses with, 8..=15 (§7.1.2.2).
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// Context takeover both ways and 32 KiB windows: what an offer without parameters means.
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// The client could not accept the server's `permessage-deflate` response: it must fail the
/// WebSocket connection (RFC 7692 §7). Nothing to retry: the server answered against the RFC
/// or against what this client offered.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NegotiationError {
    /// A parameter RFC 7692 does not define (§7: "an extension parameter not defined for use
    /// in a response").
    UnknownParameter {
        /// The parameter's name as received.
        name: String,
    },
    /// The same parameter appeared twice (§7).
    DuplicateParameter {
        /// The parameter's name.
        name: &'static str,
    },
    /// A parameter had a value it may not have: a value on a `*_no_context_takeover`, a
    /// missing or malformed window size (§7.1.2: a decimal 8..=15 without leading zeros).
    InvalidValue {
        /// The parameter's name.
        name: &'static str,
    },
    /// The response holds a parameter the offer did not allow: `client_max_window_bits` when
    /// the client did not offer it (§7.1.2.2), or a window larger than the one asked for.
    Unrequested {
        /// The parameter's name.
        name: &'static str,
    },
    /// The response lacks a parameter that the offer asked for and that an accepting
    /// server must echo (`server_no_context_takeover` §7.1.1.1, `server_max_window_bits`
    /// §7.1.2.1).
    Missing {
        /// The parameter's name.
        name: &'static str,
    },
    /// The response would have our compressor use a window it cannot honour. Not produced
    /// since 8-bit windows are honoured with stored blocks (see [`MIN_DEFLATE_WINDOW_BITS`]);
    /// kept so that matching code stays valid.
    UnsupportedWindowBits {
        /// The parameter's name.
        name: &'static str,
    },
    /// The response accepted `permessage-deflate` more than once.
    MultipleResponses,
    /// The response accepted `permessage-deflate` although this client did not offer it
    /// (RFC 6455 §9.1: a server only answers with extensions the client offered).
    NotOffered,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownParameter { name } => {
                write!(f, "unknown permessage-deflate parameter {name:?}")
            }
            Self::DuplicateParameter { name } => write!(f, "duplicate parameter {name}"),
            Self::InvalidValue { name } => write!(f, "invalid value for {name}"),
            Self::Unrequested { name } => write!(f, "{name} in the response was not allowed"),
            Self::Missing { name } => write!(f, "the response lacks {name}"),
            Self::UnsupportedWindowBits { name } => {
                write!(f, "{name} cannot be honoured")
            }
            Self::MultipleResponses => f.write_str("permessage-deflate accepted more than once"),
            Self::NotOffered => f.write_str("permessage-deflate accepted but not offered"),
        }
    }
}

impl core::error::Error for NegotiationError {}

/// Settings for `permessage-deflate`, for either end: what a client offers and checks, what
/// a server accepts.
///
/// Defaults follow node's `ws`: a client offers compression with `client_max_window_bits`
/// ([`DeflateConfig::client`]); a server accepts only when configured to
/// ([`DeflateConfig::server`] is off until [`enabled(true)`](Self::enabled)). Level 6,
/// threshold 1024 bytes, 32 KiB windows, context takeover both ways.
///
/// # Examples
///
/// ```
/// use wstack_deflate::DeflateConfig;
///
/// let config = DeflateConfig::client().server_max_window_bits(10).client_no_context_takeover(true);
/// assert_eq!(
///     config.offer().to_string(),
///     "permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits"
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)] // independent switches, one per RFC 7692 parameter
pub struct DeflateConfig {
    enabled: bool,
    level: u32,
    threshold: usize,
    server_max_window_bits: u8,
    client_max_window_bits: Option<u8>,
    offer_client_max_window_bits: bool,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
}

impl DeflateConfig {
    /// Client defaults: enabled, offering `client_max_window_bits` without a value.
    pub const fn client() -> Self {
        Self {
            enabled: true,
            level: 6,
            threshold: 1024,
            server_max_window_bits: MAX_WINDOW_BITS,
            client_max_window_bits: None,
            offer_client_max_window_bits: true,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
        }
    }

    /// Server defaults: the same settings, but disabled until [`enabled(true)`](Self::enabled).
    pub const fn server() -> Self {
        Self {
            enabled: false,
            ..Self::client()
        }
    }

    /// Turns negotiation on or off. Off, a server accepts nothing and a client fails on a
    /// response that accepts compression anyway.
    #[must_use]
    pub const fn enabled(mut self, on: bool) -> Self {
        self.enabled = on;
        self
    }

    /// Whether negotiation is on. A client sends [`offer`](Self::offer) only when it is.
    pub const fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// zlib compression level, 0 (store) to 9 (best); larger values are taken as 9.
    #[must_use]
    pub fn level(mut self, level: u32) -> Self {
        self.level = level.min(9);
        self
    }

    /// Messages shorter than this many bytes are sent uncompressed (default 1024, as `ws`).
    #[must_use]
    pub const fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The server's window, 8..=15 (values outside are clamped). A client asks the server for
    /// at most this window when it is below 15. A server compresses with at most this window;
    /// as zlib cannot compress with 8 bits, a server configured with 8 uses 9.
    #[must_use]
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
        self
    }

    /// The client's window, 8..=15 (clamped), or `None` for "the server decides".
    ///
    /// A client compresses with at most this window and offers it as
    /// `client_max_window_bits=N` (8 is offered and used as 9, the least zlib compresses
    /// with). A server with `Some(n)`, n < 15, holds clients to n and declines offers that do
    /// not allow it (those without `client_max_window_bits`), as `ws` does. Prefer 9 over 8
    /// there: many zlib-based clients cannot compress with 8 bits and fail the connection on
    /// such an answer (this crate accepts it and sends stored blocks, uncompressed).
    #[must_use]
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> Self {
        self.client_max_window_bits = bits.map(|b| b.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS));
        self
    }

    /// Whether a client offers `client_max_window_bits` at all (default true). Turn it off
    /// only for servers that reject the parameter; a response that then names it fails.
    #[must_use]
    pub const fn offer_client_max_window_bits(mut self, on: bool) -> Self {
        self.offer_client_max_window_bits = on;
        self
    }

    /// The server resets its compressor after every message. A client requests it; a
    /// server always grants it. Saves the server's 32 KiB-per-connection window between
    /// messages at the cost of ratio.
    #[must_use]
    pub const fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// The client resets its compressor after every message. A client offers it as a hint;
    /// a server imposes it.
    #[must_use]
    pub const fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// The client's offer for `Sec-WebSocket-Extensions` (RFC 7692 §5). Send it only when
    /// [`is_enabled`](Self::is_enabled).
    pub fn offer(&self) -> ExtensionOffer {
        let mut offer = ExtensionOffer::new(EXTENSION_NAME);
        if self.server_no_context_takeover {
            offer = offer.param(SERVER_NO_CONTEXT_TAKEOVER, None);
        }
        if self.client_no_context_takeover {
            offer = offer.param(CLIENT_NO_CONTEXT_TAKEOVER, None);
        }
        if self.server_max_window_bits < MAX_WINDOW_BITS {
            offer = offer.param(
                SERVER_MAX_WINDOW_BITS,
                Some(bits_str(self.server_max_window_bits)),
            );
        }
        if self.offer_client_max_window_bits {
            let value = self.client_max_window_bits.map(|b| bits_str(own_window(b)));
            offer = offer.param(CLIENT_MAX_WINDOW_BITS, value);
        }
        offer
    }

    /// Server: answers the first acceptable offer, in order, with the response element and
    /// the codec; `None` when disabled or when every offer is declined.
    ///
    /// Offers for other extensions are skipped. RFC 7692 §7: "A server MUST decline an
    /// extension negotiation offer for this extension if any of the following conditions
    /// are met: the negotiation offer contains an extension parameter not defined for use in
    /// an offer; [...] an extension parameter with an invalid value; [...] multiple extension
    /// parameters with the same name; the server doesn't support the offered configuration."
    pub fn accept(&self, offers: &[ExtensionOffer]) -> Option<(ExtensionOffer, PerMessageDeflate)> {
        if !self.enabled {
            return None;
        }
        offers
            .iter()
            .filter(|o| o.name == EXTENSION_NAME)
            .find_map(|o| self.accept_one(o))
    }

    fn accept_one(&self, offer: &ExtensionOffer) -> Option<(ExtensionOffer, PerMessageDeflate)> {
        let p = Parsed::from(offer, Side::Offer).ok()?;
        let mut params = DeflateParams::default();
        let mut response = ExtensionOffer::new(EXTENSION_NAME);

        // §7.1.1.1: "A server accepting an extension negotiation offer with this parameter
        // MUST include the server_no_context_takeover extension parameter in the extension
        // negotiation response"; it MAY include it unasked.
        if p.server_no_context_takeover || self.server_no_context_takeover {
            params.server_no_context_takeover = true;
            response = response.param(SERVER_NO_CONTEXT_TAKEOVER, None);
        }
        // §7.1.1.2: a server MAY include client_no_context_takeover; we echo the client's
        // hint so that our decompressor may drop its window between messages.
        if p.client_no_context_takeover || self.client_no_context_takeover {
            params.client_no_context_takeover = true;
            response = response.param(CLIENT_NO_CONTEXT_TAKEOVER, None);
        }

        // §7.1.2.1: the server accepts server_max_window_bits "by including [it] in the
        // extension negotiation response [...] with the same or smaller value as the offer";
        // without it in the offer the server MAY still include it.
        let ours = own_window(self.server_max_window_bits);
        let server_bits = match p.server_max_window_bits {
            // An 8-bit window is honoured with stored blocks (see `PerMessageDeflate::new`).
            Some(asked) => Some(asked.min(ours)),
            None if ours < MAX_WINDOW_BITS => Some(ours),
            None => None,
        };
        if let Some(bits) = server_bits {
            params.server_max_window_bits = bits;
            response = response.param(SERVER_MAX_WINDOW_BITS, Some(bits_str(bits)));
        }

        // §7.1.2.2: "If a received extension negotiation offer doesn't have the
        // client_max_window_bits extension parameter, the corresponding extension
        // negotiation response to the offer MUST NOT include the client_max_window_bits
        // extension parameter."
        let wanted = self.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
        let hint = match p.client_max_window_bits {
            // We must hold the client to a smaller window but may not say so: decline.
            ClientBits::Absent if wanted < MAX_WINDOW_BITS => return None,
            ClientBits::Absent => None,
            ClientBits::Bare => Some(None),
            ClientBits::Value(bits) => Some(Some(bits)),
        };
        match hint {
            None => {}
            Some(hint) => {
                let bits = wanted.min(hint.unwrap_or(MAX_WINDOW_BITS));
                if bits < MAX_WINDOW_BITS || hint.is_some() {
                    params.client_max_window_bits = bits;
                    response = response.param(CLIENT_MAX_WINDOW_BITS, Some(bits_str(bits)));
                }
            }
        }

        let codec = PerMessageDeflate::new(Role::Server, params, self).ok()?;
        Some((response, codec))
    }

    /// Client: checks the server's `Sec-WebSocket-Extensions` response against this
    /// configuration's [`offer`](Self::offer). `Ok(None)`: the server did not accept
    /// compression. `Err`: the client must fail the connection.
    ///
    /// Elements for other extensions are ignored here. RFC 7692 §7: "A client MUST _Fail
    /// the WebSocket Connection_ if the peer server accepted an extension negotiation offer
    /// for this extension with an extension negotiation response meeting any of the
    /// following conditions: the negotiation response contains an extension parameter not
    /// defined for use in a response; [...] an extension parameter with an invalid value;
    /// [...] multiple extension parameters with the same name; the client does not support
    /// the configuration that the response represents."
    pub fn confirm(
        &self,
        response: &[ExtensionOffer],
    ) -> Result<Option<PerMessageDeflate>, NegotiationError> {
        let mut ours = response.iter().filter(|o| o.name == EXTENSION_NAME);
        let Some(answer) = ours.next() else {
            return Ok(None);
        };
        if !self.enabled {
            return Err(NegotiationError::NotOffered);
        }
        if ours.next().is_some() {
            return Err(NegotiationError::MultipleResponses);
        }
        let p = Parsed::from(answer, Side::Response)?;
        let mut params = DeflateParams {
            server_no_context_takeover: p.server_no_context_takeover,
            client_no_context_takeover: p.client_no_context_takeover,
            ..DeflateParams::default()
        };

        // §7.1.1.1: a server accepting an offer with server_no_context_takeover "MUST
        // include" it; a response without it did not accept what we offered.
        if self.server_no_context_takeover && !p.server_no_context_takeover {
            return Err(NegotiationError::Missing {
                name: SERVER_NO_CONTEXT_TAKEOVER,
            });
        }

        // §7.1.2.1: the response carries server_max_window_bits "with the same or smaller
        // value as the offer".
        let asked =
            (self.server_max_window_bits < MAX_WINDOW_BITS).then_some(self.server_max_window_bits);
        match (asked, p.server_max_window_bits) {
            (Some(_), None) => {
                return Err(NegotiationError::Missing {
                    name: SERVER_MAX_WINDOW_BITS,
                });
            }
            (Some(max), Some(got)) if got > max => {
                return Err(NegotiationError::Unrequested {
                    name: SERVER_MAX_WINDOW_BITS,
                });
            }
            (_, Some(got)) => params.server_max_window_bits = got,
            (None, None) => {}
        }

        // §7.1.2.2: client_max_window_bits only when offered, never above the offered value.
        if let ClientBits::Value(got) = p.client_max_window_bits {
            if !self.offer_client_max_window_bits {
                return Err(NegotiationError::Unrequested {
                    name: CLIENT_MAX_WINDOW_BITS,
                });
            }
            if let Some(max) = self.client_max_window_bits {
                if got > own_window(max) {
                    return Err(NegotiationError::Unrequested {
                        name: CLIENT_MAX_WINDOW_BITS,
                    });
                }
            }
            params.client_max_window_bits = got;
        } else if let Some(mine) = self.client_max_window_bits {
            // We promised at most this window in our offer: keep to it.
            params.client_max_window_bits = own_window(mine);
        }
        // Our own no-context-takeover hint binds us even if the server did not echo it.
        params.client_no_context_takeover |= self.client_no_context_takeover;

        PerMessageDeflate::new(Role::Client, params, self).map(Some)
    }

    pub(crate) const fn compression_level(&self) -> u32 {
        self.level
    }

    pub(crate) const fn compression_threshold(&self) -> usize {
        self.threshold
    }
}

/// The one place where a window size *we* compress with is mapped onto what zlib can do:
/// zlib raw deflate refuses 8 bits, so our own setting of 8 becomes 9 (a 9-bit stream is
/// still decodable by a peer that asked nothing of us).
pub(crate) const fn own_window(bits: u8) -> u8 {
    if bits < MIN_DEFLATE_WINDOW_BITS {
        MIN_DEFLATE_WINDOW_BITS
    } else {
        bits
    }
}

fn bits_str(bits: u8) -> &'static str {
    const TABLE: [&str; 8] = ["8", "9", "10", "11", "12", "13", "14", "15"];
    TABLE[usize::from(bits.clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS) - MIN_WINDOW_BITS)]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Offer,
    Response,
}

/// `client_max_window_bits` as received.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum ClientBits {
    #[default]
    Absent,
    /// Without a value: only valid in an offer.
    Bare,
    Value(u8),
}

/// One `permessage-deflate` element, checked for RFC 7692 §7's syntax rules.
#[derive(Default)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    client_max_window_bits: ClientBits,
}

impl Parsed {
    fn from(element: &ExtensionOffer, side: Side) -> Result<Self, NegotiationError> {
        let mut p = Self::default();
        let mut seen = [false; 4];
        for param in &element.params {
            let (index, name) = match param.name.as_str() {
                SERVER_NO_CONTEXT_TAKEOVER => (0, SERVER_NO_CONTEXT_TAKEOVER),
                CLIENT_NO_CONTEXT_TAKEOVER => (1, CLIENT_NO_CONTEXT_TAKEOVER),
                SERVER_MAX_WINDOW_BITS => (2, SERVER_MAX_WINDOW_BITS),
                CLIENT_MAX_WINDOW_BITS => (3, CLIENT_MAX_WINDOW_BITS),
                other => {
                    return Err(NegotiationError::UnknownParameter {
                        name: other.to_owned(),
                    });
                }
            };
            // §7: "The negotiation offer contains multiple extension parameters with the
            // same name."
            if core::mem::replace(&mut seen[index], true) {
                return Err(NegotiationError::DuplicateParameter { name });
            }
            let value = param.value.as_deref();
            let invalid = NegotiationError::InvalidValue { name };
            match index {
                // §7.1.1.1, §7.1.1.2: "This extension parameter has no value."
                0 | 1 if value.is_some() => return Err(invalid),
                0 => p.server_no_context_takeover = true,
                1 => p.client_no_context_takeover = true,
                // §7.1.2.1: server_max_window_bits always has a value.
                2 => p.server_max_window_bits = Some(value.and_then(parse_bits).ok_or(invalid)?),
                // §7.1.2.2: "This parameter has no value or a decimal integer value"
                // in an offer; the response "MUST" carry a value.
                _ => match value {
                    None if side == Side::Offer => p.client_max_window_bits = ClientBits::Bare,
                    None => return Err(invalid),
                    Some(v) => {
                        p.client_max_window_bits = ClientBits::Value(parse_bits(v).ok_or(invalid)?);
                    }
                },
            }
        }
        Ok(p)
    }
}

/// RFC 7692 §7.1.2.1: "a decimal integer value without leading zeroes between 8 to 15,
/// inclusive [...] server-max-window-bits = 1*DIGIT". The quoted-string form was already
/// unquoted by the header parser (RFC 6455 §9.1).
fn parse_bits(value: &str) -> Option<u8> {
    let digits = value.as_bytes();
    if digits.is_empty() || digits.len() > 2 || digits[0] == b'0' {
        return None;
    }
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (MIN_WINDOW_BITS..=MAX_WINDOW_BITS)
        .contains(&bits)
        .then_some(bits)
}
