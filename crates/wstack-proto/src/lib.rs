//! The sans-IO WebSocket connection (RFC 6455): bytes in, events out; messages in, bytes out;
//! time as an argument. No sockets, no async, no clock reads.
//!
//! ```
//! use wstack_proto::{Connection, Config, Event, Message, Role};
//!
//! let mut client = Connection::new(Role::Client, Config::default());
//! let mut server = Connection::new(Role::Server, Config::default());
//!
//! client.send(Message::Text("hello".into())).unwrap();
//!
//! // The adapter's job: move the outgoing bytes to the other side (here, in memory).
//! let wire: Vec<u8> = client.outgoing().flatten().copied().collect();
//! client.advance_outgoing(wire.len());
//! let buf = server.read_buf();
//! buf[..wire.len()].copy_from_slice(&wire);
//! server.commit_read(wire.len());
//!
//! // An echo server: every text message goes back.
//! while let Some(event) = server.poll_event().unwrap() {
//!     if let Event::Message(Message::Text(text)) = event {
//!         assert_eq!(text, "hello");
//!         server.send(Message::Text(text)).unwrap();
//!     }
//! }
//! assert!(server.outgoing_len() > 0);
//! ```
//!
//! [`Connection`] is the whole API: see its documentation for the order of calls. Pings are
//! answered and close frames echoed automatically; every protocol violation fails the
//! connection with the close code from one table ([`ProtocolError::close_code`]), and every
//! limit in [`Config`] has a safe default.
//!
//! # Features
//!
//! - `std` (default): deadlines (`handle_timeout` / `poll_timeout` on `std::time::Instant`:
//!   keepalive, dead peer, close timeout) and a mask-key generator seeded from std's random
//!   hasher keys. Without it the crate is `no_std` + `alloc`; clients should then give a
//!   random source with [`Connection::with_mask_source`].
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod connection;
mod error;
mod types;

pub use connection::Connection;
pub use error::{ProtocolError, SendError};
pub use types::{CloseFrame, Config, DataKind, Event, Message, Role, State, Utf8Bytes};
pub use wstack_frame::CloseCode;
pub use wstack_frame::ext::{Extension, ExtensionError};

pub use bytes::Bytes;
