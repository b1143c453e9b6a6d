//! Test data for 12.x and 13.x. Autobahn ships five files (JSON, HTML, a German text, a
//! bitmap, a PDF); we generate deterministic stand-ins of the same character and similar
//! size, so that compression behaves alike without shipping third-party files.

use std::fmt::Write as _;

use crate::case::TestData;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        let n = v.len() as u64;
        v[usize::try_from(self.next() % n).unwrap_or(0)]
    }
}

const WORDS: [&str; 24] = [
    "der",
    "die",
    "und",
    "Faust",
    "Mephistopheles",
    "Himmel",
    "Welt",
    "Geist",
    "ich",
    "nicht",
    "Gretchen",
    "Nacht",
    "Herz",
    "Zeit",
    "was",
    "mit",
    "wie",
    "sein",
    "Liebe",
    "ewig",
    "doch",
    "Studierzimmer",
    "Teufel",
    "Natur",
];

/// The bytes of one data set (ASCII for the two text sets, so any slice is valid UTF-8).
pub(crate) fn bytes(which: TestData) -> Vec<u8> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ which as u64);
    let mut out = String::new();
    match which {
        TestData::Json => {
            out.push('[');
            for i in 0..1400 {
                let name = rng.pick(&WORDS);
                let _ = writeln!(
                    out,
                    "{{\"id\": {i}, \"name\": \"{name}\", \"active\": {}, \"score\": {}.{}, \"tags\": [\"{}\", \"{}\"], \"text\": \"{} {} {}\"}},",
                    rng.next() % 2 == 0,
                    rng.next() % 1000,
                    rng.next() % 100,
                    rng.pick(&WORDS),
                    rng.pick(&WORDS),
                    rng.pick(&WORDS),
                    rng.pick(&WORDS),
                    rng.pick(&WORDS)
                );
            }
            out.push_str("{}]\n");
        }
        TestData::Html => {
            out.push_str("<!DOCTYPE html><html><head><title>data</title></head><body>\n");
            for i in 0..1900 {
                let _ = writeln!(
                    out,
                    "<div class=\"row r{}\"><a href=\"/page/{i}\">{}</a> <span>{} {}</span></div>",
                    rng.next() % 7,
                    rng.pick(&WORDS),
                    rng.pick(&WORDS),
                    rng.pick(&WORDS)
                );
            }
            out.push_str("</body></html>\n");
        }
        TestData::Text => {
            while out.len() < 222_000 {
                out.push_str(rng.pick(&WORDS));
                out.push_str(if rng.next() % 11 == 0 { ".\n" } else { " " });
                if rng.next() % 29 == 0 {
                    out.push_str("\u{fc}ber sch\u{f6}n gr\u{fc}\u{df}en ");
                }
            }
        }
        TestData::Bitmap => {
            let mut b = b"BM".to_vec();
            for y in 0..512u32 {
                for x in 0..512u32 {
                    let v = ((x ^ y) & 0xff) as u8 / 16 * 16 + (rng.next() % 4) as u8;
                    b.push(v);
                }
            }
            return b;
        }
        TestData::Document => {
            let mut b = b"%PDF-1.4\n".to_vec();
            while b.len() < 1_000_000 {
                let obj = format!(
                    "{} 0 obj << /Length {} >> stream\n",
                    b.len() % 997,
                    rng.next() % 4096
                );
                b.extend_from_slice(obj.as_bytes());
                for _ in 0..2048 {
                    b.push(rng.next().to_be_bytes()[3]);
                }
                b.extend_from_slice(b"\nendstream endobj\n");
            }
            return b;
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sets_are_ascii_and_sizes_are_alike() {
        for t in [TestData::Json, TestData::Html] {
            let b = bytes(t);
            assert!(b.is_ascii());
            assert!((150_000..400_000).contains(&b.len()), "{t:?}: {}", b.len());
        }
        assert!(bytes(TestData::Document).len() >= 1_000_000);
        assert_eq!(
            bytes(TestData::Bitmap),
            bytes(TestData::Bitmap),
            "deterministic"
        );
    }
}
