//! A byte-oriented reader over `arbitrary::Unstructured` with total functions: missing bytes
//! read as zero and short slices are returned short, so every input decodes to something and
//! the fuzzer's byte mutations map onto small changes of the decoded value. The seed writers
//! in [`crate::seeds`] write the same format.

use arbitrary::Unstructured;

pub(crate) struct Reader<'a> {
    u: Unstructured<'a>,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self {
            u: Unstructured::new(data),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    /// The next byte, or 0 at the end.
    pub(crate) fn byte(&mut self) -> u8 {
        self.u.bytes(1).map_or(0, |b| b[0])
    }

    /// A big-endian `u16`, missing bytes as 0.
    pub(crate) fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` bytes (fewer at the end).
    pub(crate) fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.u.len());
        self.u.bytes(n).unwrap_or_default()
    }

    /// A length byte, then that many bytes.
    pub(crate) fn chunk(&mut self) -> &'a [u8] {
        let n = self.byte();
        self.take(usize::from(n))
    }

    /// Everything left.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.u.take_rest()
    }
}

/// Writes what [`Reader::chunk`] reads: a length byte and at most 255 bytes.
pub(crate) fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len().min(255);
    out.push(u8::try_from(n).unwrap_or(u8::MAX));
    out.extend_from_slice(&bytes[..n]);
}
