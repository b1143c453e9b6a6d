//! `Sec-WebSocket-Key` and `Sec-WebSocket-Accept` (RFC 6455 §4.1, §4.2.2).

use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};

/// The GUID every accept key is derived with (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value (the base64 text as sent).
///
/// RFC 6455 §4.2.2: "concatenate this with the Globally Unique Identifier ... take the SHA-1
/// hash of this concatenated value ... base64-encode".
///
/// # Examples
///
/// The example of RFC 6455 §1.3:
///
/// ```
/// assert_eq!(
///     wstack_handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &[u8]) -> String {
    let raw = accept_key_bytes(key);
    // base64 output is ASCII.
    String::from_utf8_lossy(&raw).into_owned()
}

/// [`accept_key`] without allocating: 28 ASCII bytes.
pub(crate) fn accept_key_bytes(key: &[u8]) -> [u8; 28] {
    let mut sha = Sha1::new();
    sha.update(key);
    sha.update(GUID.as_bytes());
    let digest = sha.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to 28 base64 bytes with padding: the buffer fits.
    let _ = STANDARD.encode_slice(digest, &mut out);
    out
}

/// The `Sec-WebSocket-Key` value for 16 random bytes the caller provides.
pub(crate) fn client_key(nonce: [u8; 16]) -> [u8; 24] {
    let mut out = [0u8; 24];
    // 16 bytes always encode to 24 base64 bytes with padding: the buffer fits.
    let _ = STANDARD.encode_slice(nonce, &mut out);
    out
}

/// RFC 6455 §4.2.1: "A |Sec-WebSocket-Key| header field with a base64-encoded value that, when
/// decoded, is 16 bytes in length."
pub(crate) fn is_valid_client_key(value: &[u8]) -> bool {
    let mut out = [0u8; 18];
    value.len() == 24 && STANDARD.decode_slice(value, &mut out) == Ok(16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_section_1_3_example() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn client_key_encodes_nonce() {
        let key = client_key(*b"the sample nonce");
        assert_eq!(&key, b"dGhlIHNhbXBsZSBub25jZQ==");
        assert!(is_valid_client_key(&key));
    }

    #[test]
    fn key_validation() {
        assert!(!is_valid_client_key(b"dGhlIHNhbXBsZSBub25jZQ=")); // 23 chars
        assert!(!is_valid_client_key(b"dGhlIHNhbXBsZSBub25jZQ!!")); // not base64
        assert!(!is_valid_client_key(b"dGhlIHNhbXBsZSBub25jZQ")); // unpadded
        assert!(!is_valid_client_key(b"dGhlIHNhbXBsZSBub25jZXNz")); // 18 bytes
        assert!(!is_valid_client_key(b""));
    }
}
