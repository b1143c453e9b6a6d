//! The UTF-8 decoder test vectors of cases 6.5 to 6.23, after Markus Kuhn's
//! `UTF-8-test.txt` as Autobahn groups them: one group per sub-section, each entry
//! `(valid, bytes)`.

/// κόσμε.
const KOSME: &[u8] = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5";

/// One sub-section: a title and its `(valid, payload)` entries.
pub(crate) type Group = (&'static str, Vec<(bool, Vec<u8>)>);

/// The groups in order (6.5 first): a title and the `(valid, payload)` entries.
#[allow(clippy::too_many_lines)] // the table itself
pub(crate) fn sequences() -> Vec<Group> {
    let valid = |b: &[u8]| (true, b.to_vec());
    let bad = |b: &[u8]| (false, b.to_vec());
    let mut groups = Vec::new();

    groups.push((
        "Some valid UTF-8 sequences",
        vec![
            valid(b"hello\x24world"),
            valid(b"hello\xc2\xa2world"),
            valid(b"hello\xe2\x82\xacworld"),
            valid(b"hello\xf0\xa4\xad\xa2world"),
            valid(KOSME),
        ],
    ));
    // Every prefix: valid exactly when it ends on a code point boundary.
    groups.push((
        "All prefixes of a valid UTF-8 string that contains multi-byte code points",
        (1..=KOSME.len())
            .map(|i| {
                (
                    std::str::from_utf8(&KOSME[..i]).is_ok(),
                    KOSME[..i].to_vec(),
                )
            })
            .collect(),
    ));
    groups.push((
        "First possible sequence of a certain length",
        vec![
            valid(b"\x00"),
            valid(b"\xc2\x80"),
            valid(b"\xe0\xa0\x80"),
            valid(b"\xf0\x90\x80\x80"),
        ],
    ));
    groups.push((
        "First possible sequence length 5/6 (invalid codepoints)",
        vec![
            bad(b"\xf8\x88\x80\x80\x80"),
            bad(b"\xfc\x84\x80\x80\x80\x80"),
        ],
    ));
    groups.push((
        "Last possible sequence of a certain length",
        vec![
            valid(b"\x7f"),
            valid(b"\xdf\xbf"),
            valid(b"\xef\xbf\xbf"),
            valid(b"\xf4\x8f\xbf\xbf"),
        ],
    ));
    groups.push((
        "Last possible sequence length 4/5/6 (invalid codepoints)",
        vec![
            bad(b"\xf7\xbf\xbf\xbf"),
            bad(b"\xfb\xbf\xbf\xbf\xbf"),
            bad(b"\xfd\xbf\xbf\xbf\xbf\xbf"),
        ],
    ));
    groups.push((
        "Other boundary conditions",
        vec![
            valid(b"\xed\x9f\xbf"),
            valid(b"\xee\x80\x80"),
            valid(b"\xef\xbf\xbd"),
            valid(b"\xf4\x8f\xbf\xbf"),
            bad(b"\xf4\x90\x80\x80"),
        ],
    ));
    // 0x80 up to (not including) 0xbf, as the original's half-open range.
    groups.push((
        "Unexpected continuation bytes",
        vec![
            bad(b"\x80"),
            bad(b"\xbf"),
            bad(b"\x80\xbf"),
            bad(b"\x80\xbf\x80"),
            bad(b"\x80\xbf\x80\xbf"),
            bad(b"\x80\xbf\x80\xbf\x80"),
            bad(b"\x80\xbf\x80\xbf\x80\xbf"),
            (false, (0x80..0xbf).collect()),
        ],
    ));
    // Each start byte of a range (end excluded, as the original), followed by a space.
    groups.push((
        "Lonely start characters",
        [
            (0xc0u8, 0xdfu8),
            (0xe0, 0xef),
            (0xf0, 0xf7),
            (0xf8, 0xfb),
            (0xfc, 0xfd),
        ]
        .into_iter()
        .map(|(a, b)| (false, (a..b).flat_map(|c| [c, 0x20]).collect()))
        .collect(),
    ));
    let missing: [&[u8]; 10] = [
        b"\xc0",
        b"\xe0\x80",
        b"\xf0\x80\x80",
        b"\xf8\x80\x80\x80",
        b"\xfc\x80\x80\x80\x80",
        b"\xdf",
        b"\xef\xbf",
        b"\xf7\xbf\xbf",
        b"\xfb\xbf\xbf\xbf",
        b"\xfd\xbf\xbf\xbf\xbf",
    ];
    groups.push((
        "Sequences with last continuation byte missing",
        missing.iter().map(|m| bad(m)).collect(),
    ));
    groups.push((
        "Concatenation of incomplete sequences",
        vec![(false, missing.concat())],
    ));
    groups.push((
        "Impossible bytes",
        vec![bad(b"\xfe"), bad(b"\xff"), bad(b"\xfe\xfe\xff\xff")],
    ));
    groups.push((
        "Examples of an overlong ASCII character",
        vec![
            bad(b"\xc0\xaf"),
            bad(b"\xe0\x80\xaf"),
            bad(b"\xf0\x80\x80\xaf"),
            bad(b"\xf8\x80\x80\x80\xaf"),
            bad(b"\xfc\x80\x80\x80\x80\xaf"),
        ],
    ));
    groups.push((
        "Maximum overlong sequences",
        vec![
            bad(b"\xc1\xbf"),
            bad(b"\xe0\x9f\xbf"),
            bad(b"\xf0\x8f\xbf\xbf"),
            bad(b"\xf8\x87\xbf\xbf\xbf"),
            bad(b"\xfc\x83\xbf\xbf\xbf\xbf"),
        ],
    ));
    groups.push((
        "Overlong representation of the NUL character",
        vec![
            bad(b"\xc0\x80"),
            bad(b"\xe0\x80\x80"),
            bad(b"\xf0\x80\x80\x80"),
            bad(b"\xf8\x80\x80\x80\x80"),
            bad(b"\xfc\x80\x80\x80\x80\x80"),
        ],
    ));
    groups.push((
        "Single UTF-16 surrogates",
        vec![
            bad(b"\xed\xa0\x80"),
            bad(b"\xed\xad\xbf"),
            bad(b"\xed\xae\x80"),
            bad(b"\xed\xaf\xbf"),
            bad(b"\xed\xb0\x80"),
            bad(b"\xed\xbe\x80"),
            bad(b"\xed\xbf\xbf"),
        ],
    ));
    groups.push(("Paired UTF-16 surrogates", {
        let highs: [&[u8]; 4] = [
            b"\xed\xa0\x80",
            b"\xed\xad\xbf",
            b"\xed\xae\x80",
            b"\xed\xaf\xbf",
        ];
        let lows: [&[u8]; 2] = [b"\xed\xb0\x80", b"\xed\xbf\xbf"];
        highs
            .iter()
            .flat_map(|h| lows.iter().map(move |l| (false, [*h, *l].concat())))
            .collect()
    }));
    groups.push(("Non-character code points (valid UTF-8)", {
        let mut v = vec![valid(b"\xef\xbf\xbe"), valid(b"\xef\xbf\xbf")];
        for z1 in [0xf0u8, 0xf1, 0xf2, 0xf3, 0xf4] {
            for z2 in [0x8fu8, 0x9f, 0xaf, 0xbf] {
                // Past U+10FFFF with 0xf4 and anything above 0x8f.
                if z1 == 0xf4 && z2 != 0x8f {
                    continue;
                }
                for z3 in [0xbeu8, 0xbf] {
                    let zz = [z1, z2, 0xbf, z3];
                    // Overlong forms are left out.
                    if zz[..2] != [0xf0, 0x8f] {
                        v.push((true, zz.to_vec()));
                    }
                }
            }
        }
        v
    }));
    groups.push((
        "Unicode specials (i.e. replacement char)",
        vec![
            valid(b"\xef\xbf\xb9"),
            valid(b"\xef\xbf\xba"),
            valid(b"\xef\xbf\xbb"),
            valid(b"\xef\xbf\xbc"),
            valid(b"\xef\xbf\xbd"),
            valid(b"\xef\xbf\xbe"),
            valid(b"\xef\xbf\xbf"),
        ],
    ));
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_sizes_match_autobahn() {
        let g = sequences();
        // 6.5 .. 6.23
        assert_eq!(g.len(), 19);
        let sizes: Vec<usize> = g.iter().map(|(_, v)| v.len()).collect();
        assert_eq!(
            sizes,
            [5, 11, 4, 2, 4, 3, 5, 8, 5, 10, 1, 3, 5, 5, 5, 7, 8, 34, 7]
        );
    }

    #[test]
    fn validity_flags_agree_with_std() {
        for (title, seqs) in sequences() {
            for (valid, bytes) in seqs {
                assert_eq!(
                    std::str::from_utf8(&bytes).is_ok(),
                    valid,
                    "{title}: {bytes:x?}"
                );
            }
        }
    }
}
