//! RFC 7692 §7.1: every negotiation rule, accepted, declined and failed.

use wstack_deflate::{DeflateConfig, DeflateParams, NegotiationError, Role};
use wstack_frame::ext::Extension;

use crate::header;

fn server() -> DeflateConfig {
    DeflateConfig::server().enabled(true)
}

/// The server's answer to `offers`, as a header value, or None when it declines all.
fn answer(config: &DeflateConfig, offers: &str) -> Option<String> {
    config
        .accept(&header(offers))
        .map(|(response, _)| response.to_string())
}

fn accepted_params(config: &DeflateConfig, offers: &str) -> DeflateParams {
    *config.accept(&header(offers)).expect("accepted").1.params()
}

fn confirm(config: &DeflateConfig, response: &str) -> Result<DeflateParams, NegotiationError> {
    config
        .confirm(&header(response))
        .map(|codec| *codec.expect("negotiated").params())
}

mod offer {
    use super::*;

    #[test]
    fn client_default_offers_client_max_window_bits_without_value() {
        let config = DeflateConfig::client();
        assert!(config.is_enabled());
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; client_max_window_bits"
        );
    }

    #[test]
    fn offer_carries_every_configured_parameter() {
        let config = DeflateConfig::client()
            .server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(10)
            .client_max_window_bits(Some(11));
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=11"
        );
    }

    #[test]
    fn our_own_8_bit_window_is_offered_as_9() {
        // zlib cannot compress with 8 bits: promising 8 would be a promise we cannot keep.
        let config = DeflateConfig::client().client_max_window_bits(Some(8));
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; client_max_window_bits=9"
        );
        // Asking the *server* for 8 is fine: we inflate with a 15-bit window, a superset.
        let config = DeflateConfig::client().server_max_window_bits(8);
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits"
        );
    }

    #[test]
    fn out_of_range_settings_are_clamped() {
        let config = DeflateConfig::client()
            .server_max_window_bits(3)
            .client_max_window_bits(Some(40));
        assert_eq!(
            config.offer().to_string(),
            "permessage-deflate; server_max_window_bits=8; client_max_window_bits=15"
        );
    }

    #[test]
    fn client_max_window_bits_can_be_left_out() {
        let config = DeflateConfig::client().offer_client_max_window_bits(false);
        assert_eq!(config.offer().to_string(), "permessage-deflate");
    }
}

mod server_accepts {
    use super::*;

    #[test]
    fn server_is_off_by_default() {
        assert!(!DeflateConfig::server().is_enabled());
        assert_eq!(answer(&DeflateConfig::server(), "permessage-deflate"), None);
    }

    #[test]
    fn plain_offer() {
        assert_eq!(
            answer(&server(), "permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            accepted_params(&server(), "permessage-deflate"),
            DeflateParams::default()
        );
    }

    #[test]
    fn bare_client_max_window_bits_needs_no_answer() {
        assert_eq!(
            answer(&server(), "permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn other_extensions_are_skipped() {
        let (_, codec) = server()
            .accept(&header("x-webkit-deflate-frame, permessage-deflate"))
            .unwrap();
        assert_eq!(codec.role(), Role::Server);
        assert_eq!(codec.rsv_bits(), wstack_frame::ext::RSV1);
    }

    /// §7.1.1.1: "A server accepting an extension negotiation offer with this parameter MUST
    /// include the server_no_context_takeover extension parameter in the response."
    #[test]
    fn server_no_context_takeover_is_granted_and_echoed() {
        let offer = "permessage-deflate; server_no_context_takeover";
        assert_eq!(
            answer(&server(), offer).as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
        assert!(accepted_params(&server(), offer).server_no_context_takeover);
    }

    #[test]
    fn server_no_context_takeover_may_be_added_unasked() {
        let config = server().server_no_context_takeover(true);
        assert_eq!(
            answer(&config, "permessage-deflate").as_deref(),
            Some("permessage-deflate; server_no_context_takeover")
        );
    }

    /// §7.1.1.2: the server may include client_no_context_takeover, asked or not.
    #[test]
    fn client_no_context_takeover_is_echoed_or_imposed() {
        assert_eq!(
            answer(&server(), "permessage-deflate; client_no_context_takeover").as_deref(),
            Some("permessage-deflate; client_no_context_takeover")
        );
        let config = server().client_no_context_takeover(true);
        assert_eq!(
            answer(&config, "permessage-deflate").as_deref(),
            Some("permessage-deflate; client_no_context_takeover")
        );
    }

    /// §7.1.2.1: the response carries server_max_window_bits "with the same or smaller value
    /// as the offer".
    #[test]
    fn server_max_window_bits_same_or_smaller() {
        let offer = "permessage-deflate; server_max_window_bits=10";
        assert_eq!(
            answer(&server(), offer).as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
        let small = server().server_max_window_bits(9);
        assert_eq!(
            answer(&small, offer).as_deref(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
        assert_eq!(accepted_params(&small, offer).server_max_window_bits, 9);
    }

    #[test]
    fn server_max_window_bits_may_be_added_unasked() {
        let config = server().server_max_window_bits(12);
        assert_eq!(
            answer(&config, "permessage-deflate").as_deref(),
            Some("permessage-deflate; server_max_window_bits=12")
        );
    }

    #[test]
    fn a_server_configured_with_8_bits_compresses_with_9() {
        let config = server().server_max_window_bits(8);
        assert_eq!(
            answer(&config, "permessage-deflate").as_deref(),
            Some("permessage-deflate; server_max_window_bits=9")
        );
    }

    /// §7.1.2.2: the server may hold the client to a smaller window when the client offered
    /// client_max_window_bits, at or below the offered value.
    #[test]
    fn client_max_window_bits_answer() {
        let limited = server().client_max_window_bits(Some(10));
        assert_eq!(
            answer(&limited, "permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate; client_max_window_bits=10")
        );
        assert_eq!(
            answer(&limited, "permessage-deflate; client_max_window_bits=9").as_deref(),
            Some("permessage-deflate; client_max_window_bits=9")
        );
        // Without a limit of ours, the client's own value is echoed.
        assert_eq!(
            answer(&server(), "permessage-deflate; client_max_window_bits=12").as_deref(),
            Some("permessage-deflate; client_max_window_bits=12")
        );
        // The client may compress with 8 bits; we inflate with 15.
        let params = accepted_params(&server(), "permessage-deflate; client_max_window_bits=8");
        assert_eq!(params.client_max_window_bits, 8);
    }

    #[test]
    fn quoted_values_are_accepted() {
        assert_eq!(
            answer(
                &server(),
                "permessage-deflate; server_max_window_bits=\"10\""
            )
            .as_deref(),
            Some("permessage-deflate; server_max_window_bits=10")
        );
    }

    #[test]
    fn the_first_acceptable_offer_wins() {
        // §5.1 / §7.1.3: offers are fallbacks in order of preference.
        let offers = "permessage-deflate; foo, \
                      permessage-deflate; server_max_window_bits=8; server_max_window_bits=8, \
                      permessage-deflate; server_max_window_bits=11, \
                      permessage-deflate";
        assert_eq!(
            answer(&server(), offers).as_deref(),
            Some("permessage-deflate; server_max_window_bits=11")
        );
    }
}

mod server_declines {
    use super::*;

    fn declined(offer: &str) {
        assert_eq!(answer(&server(), offer), None, "{offer}");
        // And the fallback after it is taken.
        let with_fallback = format!("{offer}, permessage-deflate");
        assert_eq!(
            answer(&server(), &with_fallback).as_deref(),
            Some("permessage-deflate"),
            "{offer}"
        );
    }

    #[test]
    fn unknown_parameter() {
        declined("permessage-deflate; foo");
        declined("permessage-deflate; Server_No_Context_Takeover");
    }

    #[test]
    fn duplicate_parameter() {
        declined("permessage-deflate; server_no_context_takeover; server_no_context_takeover");
        declined("permessage-deflate; client_no_context_takeover; client_no_context_takeover");
        declined("permessage-deflate; server_max_window_bits=10; server_max_window_bits=10");
        declined("permessage-deflate; client_max_window_bits; client_max_window_bits=10");
    }

    #[test]
    fn value_on_a_flag() {
        declined("permessage-deflate; server_no_context_takeover=1");
        declined("permessage-deflate; client_no_context_takeover=true");
    }

    #[test]
    fn bad_window_values() {
        for bad in [
            "7", "16", "0", "08", "010", "1a", "a", "-9", "+9", "999", "9.0",
        ] {
            declined(&format!("permessage-deflate; server_max_window_bits={bad}"));
            declined(&format!("permessage-deflate; client_max_window_bits={bad}"));
        }
        // server_max_window_bits always needs a value.
        declined("permessage-deflate; server_max_window_bits");
    }

    #[test]
    fn a_client_window_limit_we_cannot_announce() {
        // We must hold the client to 10 bits but it did not offer client_max_window_bits, so
        // the response may not carry it (§7.1.2.2): decline, as ws does.
        let limited = server().client_max_window_bits(Some(10));
        assert_eq!(answer(&limited, "permessage-deflate"), None);
        // A limit of 15 is no limit.
        let no_limit = server().client_max_window_bits(Some(15));
        assert_eq!(
            answer(&no_limit, "permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn other_extension_names() {
        assert_eq!(
            answer(&server(), "permessage-deflate-x, x-webkit-deflate-frame"),
            None
        );
        assert_eq!(answer(&server(), "Permessage-Deflate"), None);
    }
}

mod client_confirms {
    use super::*;

    #[test]
    fn no_answer_means_no_compression() {
        assert!(DeflateConfig::client().confirm(&[]).unwrap().is_none());
        assert!(
            DeflateConfig::client()
                .confirm(&header("x-other"))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn plain_answer() {
        let params = confirm(&DeflateConfig::client(), "permessage-deflate").unwrap();
        assert_eq!(params, DeflateParams::default());
    }

    #[test]
    fn the_server_may_choose_our_window() {
        let params = confirm(
            &DeflateConfig::client(),
            "permessage-deflate; client_max_window_bits=10",
        )
        .unwrap();
        assert_eq!(params.client_max_window_bits, 10);
    }

    #[test]
    fn our_offered_window_binds_us_even_unanswered() {
        let config = DeflateConfig::client().client_max_window_bits(Some(11));
        assert_eq!(
            confirm(&config, "permessage-deflate")
                .unwrap()
                .client_max_window_bits,
            11
        );
        assert_eq!(
            confirm(&config, "permessage-deflate; client_max_window_bits=9")
                .unwrap()
                .client_max_window_bits,
            9
        );
    }

    #[test]
    fn server_window_same_or_smaller_or_unasked() {
        let config = DeflateConfig::client().server_max_window_bits(12);
        let params = confirm(&config, "permessage-deflate; server_max_window_bits=10").unwrap();
        assert_eq!(params.server_max_window_bits, 10);
        // §7.1.2.1: a server may limit its own window unasked; we inflate with more.
        let params = confirm(
            &DeflateConfig::client(),
            "permessage-deflate; server_max_window_bits=8",
        )
        .unwrap();
        assert_eq!(params.server_max_window_bits, 8);
    }

    #[test]
    fn no_context_takeover_either_way_is_accepted() {
        let params = confirm(
            &DeflateConfig::client(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        )
        .unwrap();
        assert!(params.server_no_context_takeover && params.client_no_context_takeover);
        // Our own hint binds us even if the server did not echo it.
        let config = DeflateConfig::client().client_no_context_takeover(true);
        assert!(
            confirm(&config, "permessage-deflate")
                .unwrap()
                .client_no_context_takeover
        );
    }
}

mod client_fails {
    use super::*;

    fn fails(config: &DeflateConfig, response: &str) -> NegotiationError {
        confirm(config, response).expect_err(response)
    }

    #[test]
    fn not_offered() {
        let off = DeflateConfig::client().enabled(false);
        assert_eq!(
            fails(&off, "permessage-deflate"),
            NegotiationError::NotOffered
        );
        assert!(off.confirm(&[]).unwrap().is_none());
    }

    #[test]
    fn accepted_twice() {
        assert_eq!(
            fails(
                &DeflateConfig::client(),
                "permessage-deflate, permessage-deflate"
            ),
            NegotiationError::MultipleResponses
        );
    }

    #[test]
    fn unknown_parameter() {
        assert_eq!(
            fails(&DeflateConfig::client(), "permessage-deflate; foo=1"),
            NegotiationError::UnknownParameter { name: "foo".into() }
        );
    }

    #[test]
    fn duplicate_parameter() {
        assert_eq!(
            fails(
                &DeflateConfig::client(),
                "permessage-deflate; client_no_context_takeover; client_no_context_takeover"
            ),
            NegotiationError::DuplicateParameter {
                name: "client_no_context_takeover"
            }
        );
    }

    #[test]
    fn invalid_values() {
        let client = DeflateConfig::client();
        for response in [
            "permessage-deflate; server_no_context_takeover=x",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=09",
            // §7.1.2.2: in a response, client_max_window_bits must have a value.
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; client_max_window_bits=7",
        ] {
            assert!(
                matches!(
                    fails(&client, response),
                    NegotiationError::InvalidValue { .. }
                ),
                "{response}"
            );
        }
    }

    /// §7.1.2.2: "If a received extension negotiation offer doesn't have the
    /// client_max_window_bits extension parameter, the corresponding extension negotiation
    /// response to the offer MUST NOT include the client_max_window_bits extension parameter."
    #[test]
    fn client_max_window_bits_not_offered() {
        let config = DeflateConfig::client().offer_client_max_window_bits(false);
        assert_eq!(
            fails(&config, "permessage-deflate; client_max_window_bits=15"),
            NegotiationError::Unrequested {
                name: "client_max_window_bits"
            }
        );
    }

    #[test]
    fn client_max_window_bits_above_our_offer() {
        let config = DeflateConfig::client().client_max_window_bits(Some(10));
        assert_eq!(
            fails(&config, "permessage-deflate; client_max_window_bits=11"),
            NegotiationError::Unrequested {
                name: "client_max_window_bits"
            }
        );
    }

    #[test]
    fn server_max_window_bits_above_our_request() {
        let config = DeflateConfig::client().server_max_window_bits(10);
        assert_eq!(
            fails(&config, "permessage-deflate; server_max_window_bits=11"),
            NegotiationError::Unrequested {
                name: "server_max_window_bits"
            }
        );
    }

    /// §7.1.2.1: accepting server_max_window_bits means including it in the response.
    #[test]
    fn server_max_window_bits_requested_but_missing() {
        let config = DeflateConfig::client().server_max_window_bits(10);
        assert_eq!(
            fails(&config, "permessage-deflate"),
            NegotiationError::Missing {
                name: "server_max_window_bits"
            }
        );
    }

    /// §7.1.1.1: accepting server_no_context_takeover means including it in the response.
    #[test]
    fn server_no_context_takeover_requested_but_missing() {
        let config = DeflateConfig::client().server_no_context_takeover(true);
        assert_eq!(
            fails(&config, "permessage-deflate"),
            NegotiationError::Missing {
                name: "server_no_context_takeover"
            }
        );
    }
}

mod codec_construction {
    use super::*;
    use wstack_deflate::PerMessageDeflate;

    #[test]
    fn either_side_may_be_held_to_8_bits() {
        for params in [
            DeflateParams {
                server_max_window_bits: 8,
                ..DeflateParams::default()
            },
            DeflateParams {
                client_max_window_bits: 8,
                ..DeflateParams::default()
            },
        ] {
            for role in [Role::Server, Role::Client] {
                assert!(PerMessageDeflate::new(role, params, &server()).is_ok());
            }
        }
    }

    #[test]
    fn errors_display() {
        let text = NegotiationError::Missing {
            name: "server_max_window_bits",
        }
        .to_string();
        assert!(text.contains("server_max_window_bits"), "{text}");
    }
}

/// RFC 7692 §7.1.2.1/§7.1.2.2: a peer may hold our compressor to an 8-bit window, which zlib
/// cannot compress with. We accept and send stored blocks only: no back-references, so any
/// window (8 included) decodes them.
mod eight_bit_window {
    use super::*;
    use wstack_deflate::PerMessageDeflate;

    /// Walks a raw DEFLATE stream (without the stripped `00 00 ff ff` tail) and checks that
    /// every block is stored (BTYPE=00), so that nothing refers back into any window.
    /// Returns the concatenated stored payload.
    fn stored_blocks_only(wire: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        let mut at = 0;
        while at < wire.len() {
            // Stored blocks start byte-aligned here: zlib pads after each 3-bit header.
            let head = wire[at];
            assert_eq!(
                (head >> 1) & 0b11,
                0,
                "block at byte {at} is not stored: {wire:02x?}"
            );
            let len_at = at + 1;
            if len_at == wire.len() {
                // The empty stored block of the sync flush lost its LEN/NLEN with the tail.
                break;
            }
            let len = usize::from(u16::from_le_bytes([wire[len_at], wire[len_at + 1]]));
            let nlen = u16::from_le_bytes([wire[len_at + 2], wire[len_at + 3]]);
            assert_eq!(
                !nlen,
                u16::try_from(len).unwrap(),
                "LEN/NLEN mismatch at {at}"
            );
            let body = len_at + 4;
            data.extend_from_slice(&wire[body..body + len]);
            at = body + len;
        }
        data
    }

    fn roundtrip_stored(ours: &mut PerMessageDeflate, theirs: &mut PerMessageDeflate) {
        // Repetitive text that any real compressor would shrink with back-references.
        let message = b"Hello, Hello, Hello! ".repeat(200);
        for _ in 0..3 {
            let mut wire = Vec::new();
            ours.encode(&message, true, &mut wire).unwrap();
            assert_eq!(stored_blocks_only(&wire), message);
            let mut back = Vec::new();
            theirs.decode(&wire, true, &mut back, 1 << 20).unwrap();
            assert_eq!(back, message);
        }
    }

    #[test]
    fn server_accepts_server_max_window_bits_8_and_sends_stored_blocks() {
        let config = server().threshold(0);
        let (response, mut codec) = config
            .accept(&header("permessage-deflate; server_max_window_bits=8"))
            .expect("accepted");
        assert_eq!(
            response.to_string(),
            "permessage-deflate; server_max_window_bits=8"
        );
        let client = DeflateConfig::client().server_max_window_bits(8);
        let mut peer = client.confirm(&[response]).unwrap().expect("negotiated");
        roundtrip_stored(&mut codec, &mut peer);
        // The other direction keeps compressing for real.
        let message = b"Hello, Hello, Hello! ".repeat(200);
        let mut wire = Vec::new();
        peer.encode(&message, true, &mut wire).unwrap();
        assert!(wire.len() < message.len() / 4, "{}", wire.len());
    }

    #[test]
    fn client_accepts_client_max_window_bits_8_and_sends_stored_blocks() {
        let config = DeflateConfig::client().threshold(0);
        let mut codec = config
            .confirm(&header("permessage-deflate; client_max_window_bits=8"))
            .unwrap()
            .expect("negotiated");
        assert_eq!(codec.params().client_max_window_bits, 8);
        let (_, mut peer) = server()
            .accept(&header("permessage-deflate; client_max_window_bits=8"))
            .expect("accepted");
        roundtrip_stored(&mut codec, &mut peer);
    }

    #[test]
    fn stored_blocks_with_no_context_takeover() {
        let config = server().threshold(0);
        let (response, mut codec) = config
            .accept(&header(
                "permessage-deflate; server_max_window_bits=8; server_no_context_takeover",
            ))
            .expect("accepted");
        let mut peer = DeflateConfig::client()
            .server_max_window_bits(8)
            .server_no_context_takeover(true)
            .confirm(&[response])
            .unwrap()
            .expect("negotiated");
        roundtrip_stored(&mut codec, &mut peer);
    }
}
