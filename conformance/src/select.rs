//! Case selection with Autobahn's patterns: `1.*`, `6.4.*`, `9.*`, or exact ids.
//!
//! As in Autobahn, a pattern with `*` matches from the start of the id (`*` matches any
//! run of characters, the rest literally), and a pattern without `*` names one id.

use crate::case::Case;

/// Whether `pattern` selects the id `id`.
pub fn matches(pattern: &str, id: &str) -> bool {
    if pattern.contains('*') {
        prefix_glob(pattern.as_bytes(), id.as_bytes())
    } else {
        pattern == id
    }
}

/// Glob match of `p` against a prefix of `s`.
fn prefix_glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => true, // anchored at the start only, like Python's re.match
        Some((b'*', rest)) => (0..=s.len()).any(|i| prefix_glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && prefix_glob(rest, &s[1..]),
    }
}

/// The cases selected by `include` (all when empty) minus `exclude`, in id order.
pub fn select(all: Vec<Case>, include: &[String], exclude: &[String]) -> Vec<Case> {
    all.into_iter()
        .filter(|c| {
            let id = c.id.to_string();
            (include.is_empty() || include.iter().any(|p| matches(p, &id)))
                && !exclude.iter().any(|p| matches(p, &id))
        })
        .collect()
}

/// Splits a comma-separated pattern list.
pub fn patterns(arg: &str) -> Vec<String> {
    arg.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    #[test]
    fn patterns_follow_autobahn() {
        assert!(matches("1.*", "1.1.1"));
        assert!(!matches("1.*", "10.1.1"));
        assert!(matches("1*", "10.1.1"));
        assert!(matches("6.4.*", "6.4.3"));
        assert!(matches("2.1", "2.1"));
        assert!(!matches("2.1", "2.10"));
    }

    #[test]
    fn catalogue_has_autobahns_case_counts() {
        let all = catalogue::all();
        let count = |p: &str| select(all.clone(), &[p.to_owned()], &[]).len();
        assert_eq!(count("1.*"), 16);
        assert_eq!(count("2.*"), 11);
        assert_eq!(count("3.*"), 7);
        assert_eq!(count("4.*"), 10);
        assert_eq!(count("5.*"), 20);
        assert_eq!(count("6.*"), 145);
        assert_eq!(count("7.*"), 37);
        assert_eq!(count("9.*"), 54);
        assert_eq!(count("10.*"), 1);
        assert_eq!(count("12.*"), 90);
        assert_eq!(count("13.*"), 126);
        assert_eq!(all.len(), 517);
        let mut ids: Vec<String> = all.iter().map(|c| c.id.to_string()).collect();
        ids.dedup();
        assert_eq!(ids.len(), 517, "ids are unique");
        assert_eq!(
            all.first().map(|c| c.id.to_string()).as_deref(),
            Some("1.1.1")
        );
        assert_eq!(
            all.last().map(|c| c.id.to_string()).as_deref(),
            Some("13.7.18")
        );
        let excluded = select(all, &[], &patterns("9.*, 12.*,13.*"));
        assert_eq!(excluded.len(), 517 - 54 - 90 - 126);
    }
}
