//! Judging a run: from what was observed to `behavior` and `behaviorClose`, with
//! Autobahn's rules.

use std::collections::BTreeMap;

use crate::case::{Case, Event, Expect, ExpectedClose, Kind, Post, Verdict};

/// Everything the fuzzer saw during one case: the events, and how the connection ended.
#[allow(clippy::struct_excessive_bools)] // Autobahn's report fields, one flag each
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Events from the peer, in order.
    pub received: Vec<Event>,
    /// The fuzzer sent the first close frame.
    pub closed_by_me: bool,
    /// The fuzzer failed the connection (a protocol violation by the peer, or a kill timer).
    pub failed_by_me: bool,
    /// The fuzzer closed the TCP connection first.
    pub dropped_by_me: bool,
    /// Close frames went both ways and the server closed TCP.
    pub was_clean: bool,
    /// Why the close was not clean.
    pub was_not_clean_reason: Option<String>,
    /// The peer did not answer our close in time.
    pub was_close_handshake_timeout: bool,
    /// As a client, the fuzzer waited in vain for the server to close TCP.
    pub was_server_connection_drop_timeout: bool,
    /// The WebSocket connection opened (the handshake succeeded).
    pub connection_was_open: bool,
    /// The close code the fuzzer sent.
    pub local_close_code: Option<u16>,
    /// The close reason the fuzzer sent (lossy UTF-8).
    pub local_close_reason: Option<String>,
    /// The close code the peer sent.
    pub remote_close_code: Option<u16>,
    /// The close reason the peer sent.
    pub remote_close_reason: Option<String>,
    /// Frames the fuzzer sent, by opcode.
    pub tx_frames: BTreeMap<u8, u64>,
    /// Frames the fuzzer received, by opcode.
    pub rx_frames: BTreeMap<u8, u64>,
    /// Whether permessage-deflate was in use.
    pub deflate: bool,
    /// The verdict a driver decided itself (9.x, 12.x, 13.x), with its explanation.
    pub driver_verdict: Option<(Verdict, String)>,
    /// A note on what went wrong on the wire, if anything (peer protocol violations).
    pub note: Option<String>,
    /// The fuzzer was the server.
    pub is_server: bool,
}

/// The verdicts of one case, with Autobahn's explanation strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Judgement {
    /// `behavior`.
    pub behavior: Verdict,
    /// `behaviorClose`.
    pub behavior_close: Verdict,
    /// Why `behavior`.
    pub result: String,
    /// Why `behaviorClose`.
    pub result_close: String,
}

fn matches(expected: &[Expect], received: &[Event]) -> bool {
    expected.len() == received.len() && expected.iter().zip(received).all(|(e, r)| e.matches(r))
}

/// Whether `received` matches every expected outcome: the point where Autobahn's
/// `finishWhenDone` starts the closing handshake.
pub fn all_expected_match(expected: &[(Verdict, Vec<Expect>)], received: &[Event]) -> bool {
    expected.iter().all(|(_, e)| matches(e, received))
}

/// Judges one run of `case`.
pub fn judge(case: &Case, obs: &Observed) -> Judgement {
    let (expected_close, post) = match &case.kind {
        Kind::Scripted(s) => (s.close.clone(), s.post),
        _ => (ExpectedClose::normal(), Post::None),
    };
    let (mut behavior, mut result) = match (&case.kind, &obs.driver_verdict) {
        (Kind::Scripted(s), _) => s
            .expected
            .iter()
            .find(|(_, e)| matches(e, &obs.received))
            .map_or_else(
                || {
                    (
                        Verdict::Failed,
                        "Actual events differ from any expected.".to_owned(),
                    )
                },
                |(v, _)| (*v, "Actual events match at least one expected.".to_owned()),
            ),
        (_, Some((v, why))) => (*v, why.clone()),
        (_, None) => (Verdict::Failed, "Case did not finish.".to_owned()),
    };

    let (mut behavior_close, result_close) = if expected_close.closed_by_me != obs.closed_by_me {
        (
            Verdict::Failed,
            "The connection was failed by the wrong endpoint".to_owned(),
        )
    } else if expected_close.require_clean && !obs.was_clean {
        (
            Verdict::Unclean,
            "The spec requires the connection to be failed cleanly here".to_owned(),
        )
    } else if obs
        .remote_close_code
        .is_some_and(|c| !expected_close.codes.contains(&c))
    {
        let codes: Vec<String> = expected_close.codes.iter().map(u16::to_string).collect();
        (
            Verdict::WrongCode,
            format!(
                "The close code should have been {} or empty",
                codes.join(",")
            ),
        )
    } else if !obs.is_server && obs.dropped_by_me {
        (
            Verdict::FailedByClient,
            "It is preferred that the server close the TCP connection".to_owned(),
        )
    } else {
        (Verdict::Ok, "Connection was properly closed".to_owned())
    };

    match post {
        Post::None => {}
        Post::WrongCodeFails => {
            if behavior_close == Verdict::WrongCode {
                behavior = Verdict::Failed;
                result.clone_from(&result_close);
            }
        }
        Post::Informational => {
            result = match behavior {
                Verdict::Ok => "Text message was processed before close.".to_owned(),
                Verdict::NonStrict => {
                    "Close was processed before text message could be returned.".to_owned()
                }
                _ => "Actual events are undefined by the spec.".to_owned(),
            };
            behavior = Verdict::Informational;
            behavior_close = Verdict::Informational;
        }
        Post::FrameCount { len, frag } => {
            let want_cont = (len / frag) as u64;
            let want_text = u64::from(len % frag > 0);
            let got_cont = obs.tx_frames.get(&0).copied().unwrap_or(0);
            let got_text = obs.tx_frames.get(&1).copied().unwrap_or(0);
            if !obs.connection_was_open {
                behavior = Verdict::Failed;
                "WebSocket connection was never open".clone_into(&mut result);
            } else if (got_cont, got_text) != (want_cont, want_text) {
                behavior = Verdict::Failed;
                result = format!(
                    "Frames transmitted {{0: {got_cont}, 1: {got_text}}} does not match what we expected {{0: {want_cont}, 1: {want_text}}}."
                );
            }
        }
    }
    Judgement {
        behavior,
        behavior_close,
        result,
        result_close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::CaseId;
    use crate::catalogue;

    fn case(id: &str) -> Case {
        let id: CaseId = id.parse().unwrap();
        catalogue::all().into_iter().find(|c| c.id == id).unwrap()
    }

    fn clean_close_by_me() -> Observed {
        Observed {
            closed_by_me: true,
            was_clean: true,
            remote_close_code: Some(1000),
            connection_was_open: true,
            ..Observed::default()
        }
    }

    #[test]
    fn echo_and_clean_close_is_ok() {
        let mut o = clean_close_by_me();
        o.received.push(Event::Message {
            binary: false,
            payload: b"Hello, world!".repeat(0),
        });
        let j = judge(&case("1.1.1"), &o);
        assert_eq!((j.behavior, j.behavior_close), (Verdict::Ok, Verdict::Ok));
    }

    #[test]
    fn echo_as_binary_fails() {
        let mut o = clean_close_by_me();
        o.received.push(Event::Message {
            binary: true,
            payload: Vec::new(),
        });
        assert_eq!(judge(&case("1.1.1"), &o).behavior, Verdict::Failed);
    }

    #[test]
    fn late_fail_on_utf8_is_non_strict_and_early_is_ok() {
        let base = Observed {
            remote_close_code: Some(1007),
            connection_was_open: true,
            ..Observed::default()
        };
        let mut o = base.clone();
        o.received = vec![Event::Timeout("A")];
        assert_eq!(judge(&case("6.4.1"), &o).behavior, Verdict::Ok);
        o.received.push(Event::Timeout("B"));
        assert_eq!(judge(&case("6.4.1"), &o).behavior, Verdict::NonStrict);
        let mut o = base;
        o.remote_close_code = Some(1002);
        o.received = vec![Event::Timeout("A")];
        let j = judge(&case("6.4.1"), &o);
        assert_eq!(
            (j.behavior, j.behavior_close),
            (Verdict::Ok, Verdict::WrongCode)
        );
    }

    #[test]
    fn wrong_close_code_fails_section_7() {
        let mut o = clean_close_by_me();
        o.remote_close_code = Some(1002);
        let j = judge(&case("7.7.1"), &o);
        assert_eq!(
            (j.behavior, j.behavior_close),
            (Verdict::Failed, Verdict::WrongCode)
        );
    }

    #[test]
    fn close_by_wrong_endpoint_and_unclean() {
        let mut o = clean_close_by_me();
        o.closed_by_me = false;
        assert_eq!(judge(&case("2.1"), &o).behavior_close, Verdict::Failed);
        let mut o = clean_close_by_me();
        o.was_clean = false;
        assert_eq!(judge(&case("2.7"), &o).behavior_close, Verdict::Unclean);
        let mut o = clean_close_by_me();
        o.dropped_by_me = true;
        assert_eq!(
            judge(&case("2.7"), &o).behavior_close,
            Verdict::FailedByClient
        );
        o.is_server = true;
        assert_eq!(judge(&case("2.7"), &o).behavior_close, Verdict::Ok);
    }

    #[test]
    fn informational_cases_stay_informational() {
        let o = Observed {
            connection_was_open: true,
            ..Observed::default()
        };
        let j = judge(&case("7.13.1"), &o);
        assert_eq!(
            (j.behavior, j.behavior_close),
            (Verdict::Informational, Verdict::Informational)
        );
    }

    #[test]
    fn auto_fragment_count_is_checked() {
        let mut o = clean_close_by_me();
        o.received.push(Event::Message {
            binary: false,
            payload: vec![b'*'; 65536],
        });
        o.tx_frames.insert(1, 1);
        o.tx_frames.insert(0, 50);
        assert_eq!(judge(&case("10.1.1"), &o).behavior, Verdict::Ok);
        o.tx_frames.insert(0, 49);
        assert_eq!(judge(&case("10.1.1"), &o).behavior, Verdict::Failed);
    }
}
