//! `deflate_params` and `inflate`: permessage-deflate negotiation and the bounded codec of
//! `wstack-deflate`.

use wstack_deflate::{
    DeflateConfig, DeflateParams, EXTENSION_NAME, NegotiationError, PerMessageDeflate, Role,
};
use wstack_frame::ext::{Extension, ExtensionError};
use wstack_handshake::extensions::{ExtensionOffer, format_extensions, parse_extensions};

use crate::input::Reader;

/// The output limit of the reference decoder the bounded one is compared with.
const REFERENCE_LIMIT: usize = 1 << 20;

/// A configuration from two bytes. Byte `a`: bits 0-2 the server window (8 + n), bit 3 whether
/// a client window is set, bits 4-6 that window (8 + n). Byte `b`: bit 0
/// `server_no_context_takeover`, bit 1 `client_no_context_takeover`, bit 2 *not* offering
/// `client_max_window_bits`, bit 3 disabled.
pub(crate) fn config(base: DeflateConfig, a: u8, b: u8) -> DeflateConfig {
    base.enabled(b & 8 == 0)
        .threshold(0)
        .server_max_window_bits(8 + (a & 7))
        .client_max_window_bits((a & 8 != 0).then_some(8 + ((a >> 4) & 7)))
        .server_no_context_takeover(b & 1 != 0)
        .client_no_context_takeover(b & 2 != 0)
        .offer_client_max_window_bits(b & 4 == 0)
}

/// Input: two bytes of server configuration, two of client configuration (see `config` in
/// the source), then a `Sec-WebSocket-Extensions` value (lossy UTF-8, as header values reach
/// the parser).
///
/// Invariants:
/// - `parse_extensions` never panics; what it parses, `format_extensions` writes back to a
///   value that parses to the same list; an error points inside the value.
/// - A server's answer to any offer list is one `permessage-deflate` element that parses
///   back; the codec it built interoperates with a client codec of the same parameters.
/// - A client's `confirm` of any response either fails or gives a working codec.
/// - The client's own offer, answered by the server, is confirmed by the client; the two ends
///   agree so that neither compresses with a larger window or more context than the other
///   decompresses with, and messages survive both ways, twice (context takeover).
pub fn deflate_params(data: &[u8]) {
    let mut r = Reader::new(data);
    let server = config(DeflateConfig::server(), r.byte(), r.byte());
    let client = config(DeflateConfig::client(), r.byte(), r.byte());
    let raw = r.rest();
    let value = String::from_utf8_lossy(raw);
    let sample: &[u8] = if raw.is_empty() {
        b"Hello, Hello!"
    } else {
        raw
    };

    match parse_extensions(&value) {
        Ok(offers) => {
            let written = format_extensions(&offers);
            assert_eq!(
                parse_extensions(&written).as_ref(),
                Ok(&offers),
                "{value:?} was written back as {written:?}, which parses differently"
            );
            if let Some((response, mut codec)) = server.accept(&offers) {
                check_element(&response);
                if let Ok(mut peer) = PerMessageDeflate::new(Role::Client, *codec.params(), &client)
                {
                    exchange(&mut codec, &mut peer, sample);
                }
            }
            if let Ok(Some(mut codec)) = client.confirm(&offers) {
                let params = *codec.params();
                if let Ok(mut peer) = PerMessageDeflate::new(Role::Server, params, &server) {
                    exchange(&mut peer, &mut codec, sample);
                }
            }
        }
        Err(e) => {
            let wstack_handshake::extensions::ExtensionsError::Syntax { offset } = e else {
                return;
            };
            assert!(
                offset <= value.len(),
                "error offset {offset} past the value"
            );
        }
    }

    if !client.is_enabled() {
        return;
    }
    let offer = client.offer();
    check_element(&offer);
    let Some((response, mut server_codec)) = server.accept(&[offer]) else {
        return;
    };
    let confirmed = client.confirm(std::slice::from_ref(&response));
    let Some(mut client_codec) = confirmed_codec(&response, confirmed) else {
        return;
    };
    check_agreement(*client_codec.params(), *server_codec.params());
    for _ in 0..2 {
        exchange(&mut client_codec, &mut server_codec, sample);
        exchange(&mut server_codec, &mut client_codec, sample);
    }
}

/// The client's codec from its `confirm` of a server answer to the client's own offer. The one
/// refusal allowed is documented: a server configured to hold clients to an 8-bit window,
/// which zlib cannot compress with (see `DeflateConfig::client_max_window_bits`).
pub(crate) fn confirmed_codec(
    response: &ExtensionOffer,
    confirmed: Result<Option<PerMessageDeflate>, NegotiationError>,
) -> Option<PerMessageDeflate> {
    match confirmed {
        Ok(Some(codec)) => Some(codec),
        Err(NegotiationError::UnsupportedWindowBits {
            name: "client_max_window_bits",
        }) if response
            .params
            .iter()
            .any(|p| p.name == "client_max_window_bits" && p.value.as_deref() == Some("8")) =>
        {
            None
        }
        other => {
            panic!("the client refused the server's answer {response} to its own offer: {other:?}")
        }
    }
}

/// A negotiated element is `permessage-deflate` and survives a write and a parse.
fn check_element(e: &ExtensionOffer) {
    assert_eq!(e.name, EXTENSION_NAME);
    let text = e.to_string();
    assert_eq!(
        parse_extensions(&text),
        Ok(vec![e.clone()]),
        "element {text:?}"
    );
}

/// What each end compresses with must be within what the other decompresses with.
fn check_agreement(client: DeflateParams, server: DeflateParams) {
    assert!(
        client.client_max_window_bits <= server.client_max_window_bits,
        "client compresses with a larger window than the server expects: {client:?} {server:?}"
    );
    assert!(
        server.server_max_window_bits <= client.server_max_window_bits,
        "server compresses with a larger window than the client expects: {client:?} {server:?}"
    );
    assert!(
        !server.client_no_context_takeover || client.client_no_context_takeover,
        "the server drops the client's context but the client keeps it: {client:?} {server:?}"
    );
    assert!(
        !client.server_no_context_takeover || server.server_no_context_takeover,
        "the client drops the server's context but the server keeps it: {client:?} {server:?}"
    );
}

/// One message from `from` to `to`, which must arrive unchanged.
fn exchange(from: &mut PerMessageDeflate, to: &mut PerMessageDeflate, msg: &[u8]) {
    let mut wire = Vec::new();
    if let Err(e) = from.encode(msg, true, &mut wire) {
        panic!("encoding {} bytes failed: {e:?}", msg.len());
    }
    let mut out = Vec::new();
    let decoded = to.decode(&wire, true, &mut out, msg.len());
    assert_eq!(decoded, Ok(()), "decoding our own compressed message");
    assert_eq!(out, msg, "a message changed on its way");
}

/// Input: byte 0 the peer's window (8 + n&7) and bit 3 its no-context-takeover; bytes 1-2 the
/// output limit (big-endian); then pieces, each a control byte `c` (`c & 1`: the message ends
/// here; `c >> 1`: how many bytes follow) and its bytes.
///
/// Invariants:
/// - No decode call ever grows the output past the limit, in length or in capacity.
/// - The pieces of a message inflate exactly as the whole message does in a reference codec
///   without a tight limit: the same bytes when within the limit, `TooLarge` only when the
///   reference output is longer than the limit, the same `InvalidData` otherwise.
pub fn inflate(data: &[u8]) {
    let mut r = Reader::new(data);
    let p = r.byte();
    let limit = usize::from(r.u16());
    let params = DeflateParams {
        server_max_window_bits: 8 + (p & 7),
        server_no_context_takeover: p & 8 != 0,
        ..DeflateParams::default()
    };
    let cfg = DeflateConfig::client();
    let (Ok(mut codec), Ok(mut reference)) = (
        PerMessageDeflate::new(Role::Client, params, &cfg),
        PerMessageDeflate::new(Role::Client, params, &cfg),
    ) else {
        panic!("a client that compresses with 15 bits must be constructible");
    };

    let mut out: Vec<u8> = Vec::new();
    let mut whole: Vec<u8> = Vec::new();
    let mut failed: Option<ExtensionError> = None;
    while !r.is_empty() {
        let c = r.byte();
        let piece = r.take(usize::from(c >> 1));
        let fin = c & 1 != 0;
        whole.extend_from_slice(piece);
        if failed.is_none() {
            let room = limit.saturating_sub(out.len());
            let result = codec.decode(piece, fin, &mut out, room);
            assert!(
                out.len() <= limit,
                "output {} past the limit {limit}",
                out.len()
            );
            assert!(
                out.capacity() <= limit,
                "capacity {} reserved past the limit {limit}",
                out.capacity()
            );
            failed = result.err();
        }
        if !fin {
            continue;
        }
        let mut expected = Vec::new();
        let reference_result = reference.decode(&whole, true, &mut expected, REFERENCE_LIMIT);
        match (failed, reference_result) {
            (None, Ok(())) => assert_eq!(out, expected, "pieces inflate differently"),
            (None, Err(e)) => panic!("pieces inflated where the whole fails with {e:?}"),
            (Some(ExtensionError::TooLarge), Ok(())) => assert!(
                expected.len() > limit,
                "TooLarge though the message inflates to {} bytes, limit {limit}",
                expected.len()
            ),
            (Some(ExtensionError::TooLarge), Err(_))
            | (Some(ExtensionError::InvalidData), Err(ExtensionError::InvalidData)) => {}
            (Some(e), reference_result) => {
                panic!("pieces failed with {e:?}, the whole message gave {reference_result:?}")
            }
        }
        if failed.is_some() {
            // After an error the codec starts afresh and the reference does not: stop here.
            return;
        }
        out = Vec::new();
        whole.clear();
    }
}
