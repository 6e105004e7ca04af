//! "Did you mean" for every misspelt word: keywords, options, node names, and the attribute's
//! argument names in the macro. One rule, so all of them agree.

/// The first of `known` that `word` looks like a misspelling of, for a "did you mean" hint.
///
/// ```
/// use netns_test_topology::did_you_mean;
///
/// assert_eq!(did_you_mean("topolgy", ["topology", "node", "timeout"]), Some("topology"));
/// assert_eq!(did_you_mean("BRIDGE", ["bridge"]), Some("bridge"));
/// assert_eq!(did_you_mean("zzz", ["node"]), None);
/// ```
///
/// A word is close to a known one when they differ (ignoring case) by at most two edits, and
/// by at most half the known word's length, so short words need a closer match. Swapping two
/// neighbours (`mut` for `mtu`) is one edit. A word never suggests itself.
pub fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    known.into_iter().find(|k| close_to(word, k))
}

/// Whether `a` looks like a misspelling of `b` (see [`did_you_mean`]).
pub(crate) fn close_to(a: &str, b: &str) -> bool {
    a != b && edit_distance(&a.to_lowercase(), &b.to_lowercase()) <= 2.min(b.len() / 2)
}

/// Edit distance counting a swap of two neighbours as one edit (`mut` -> `mtu`).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, &ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
            if i > 0 && j > 0 && ca == b[j - 1] && a[i - 1] == cb {
                cur[j + 1] = cur[j + 1].min(before[j - 1] + 1);
            }
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("mut", "mtu"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn closeness() {
        assert!(close_to("foward", "forward"));
        assert!(close_to("Bridg", "bridge"));
        assert!(!close_to("via", "via"));
        assert!(!close_to("x", "via"), "short words need a closer match");
        assert!(close_to("vai", "via"));
        assert!(!close_to("nod", "timeout"));
    }
}
