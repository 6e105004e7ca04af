//! The attributes written above ours, read from the source file.
//!
//! An attribute above `#[netns_test]` expands first; the built-in `#[test]` then leaves no trace
//! in the tokens we are given, yet registers the function as a test. The compiler tells where our
//! attribute is (file, line, column; Rust 1.88 and later, otherwise this finds nothing); a small
//! lexer that knows strings, characters and comments finds the attributes just above it.

use proc_macro2::Span;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use syn::parse::Parser;
use syn::Attribute;

/// The outer attributes written on the same item before the attribute at `call_site`, nearest
/// last; `None` when the source cannot be read or the spot is not a `#[..netns_test..]`.
pub(crate) fn attrs_above(call_site: Span) -> Option<Vec<Attribute>> {
    let at = call_site.start();
    attrs_above_at(call_site.local_file()?, at.line, at.column)
}

/// [`attrs_above`] the attribute at `line` (1-based) and `column` (0-based, in chars) of `file`.
fn attrs_above_at(file: PathBuf, line: usize, column: usize) -> Option<Vec<Attribute>> {
    if line == 0 {
        return None;
    }
    let scan = scanned(file)?;
    let line_start = *scan.lines.get(line - 1)?;
    let off = line_start + scan.text[line_start..].chars().take(column).map(char::len_utf8).sum::<usize>();
    let ours = scan.attrs.partition_point(|a| a.range.end <= off);
    if !scan.attrs.get(ours).is_some_and(|a| a.range.contains(&off))
        || !scan.text[scan.attrs[ours].range.clone()].contains("netns_test")
    {
        return None;
    }
    let mut first = ours;
    while first > 0 && scan.attrs[first].adjacent {
        first -= 1;
    }
    if first == ours {
        return Some(Vec::new());
    }
    let text: String =
        scan.attrs[first..ours].iter().map(|a| &scan.text[a.range.clone()]).collect::<Vec<_>>().join("\n");
    Attribute::parse_outer.parse_str(&text).ok()
}

struct Scan {
    text: String,
    /// Where each line starts: the compiler gives lines, once per attribute.
    lines: Vec<usize>,
    /// In file order.
    attrs: Vec<Attr>,
}

/// An attribute `#[..]` (or `#![..]`) of the file.
struct Attr {
    range: std::ops::Range<usize>,
    /// Only whitespace and comments between the previous attribute and this one: same item.
    adjacent: bool,
}

/// Each file is read and lexed once per compilation, whatever the number of tests in it.
fn scanned(file: PathBuf) -> Option<Arc<Scan>> {
    static FILES: OnceLock<Mutex<HashMap<PathBuf, Option<Arc<Scan>>>>> = OnceLock::new();
    let mut files = FILES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    files
        .entry(file)
        .or_insert_with_key(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            let lines = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
            Some(Arc::new(Scan { attrs: lex_attrs(&text), lines, text }))
        })
        .clone()
}

/// Every attribute of `src`, skipping strings, characters and comments.
fn lex_attrs(src: &str) -> Vec<Attr> {
    let b = src.as_bytes();
    let mut attrs = Vec::new();
    let mut i = 0;
    // Whether something other than whitespace, comments and attributes came since the last
    // attribute (or there was none).
    let mut apart = true;
    while i < b.len() {
        let next = skip_trivia(src, i);
        if next != i {
            i = next;
            continue;
        }
        if b[i] == b'#' {
            let mut j = i + 1;
            if b.get(j) == Some(&b'!') {
                j += 1;
            }
            j = skip_trivia(src, j);
            if b.get(j) == Some(&b'[') {
                let end = close_bracket(src, j);
                attrs.push(Attr { range: i..end, adjacent: !apart });
                apart = false;
                i = end;
                continue;
            }
        }
        apart = true;
        i = skip_token(src, i);
    }
    attrs
}

/// Past whitespace and comments at `i` (`i` itself if there are none).
fn skip_trivia(src: &str, mut i: usize) -> usize {
    let b = src.as_bytes();
    loop {
        match (b.get(i), b.get(i + 1)) {
            (Some(c), _) if c.is_ascii_whitespace() => i += 1,
            (Some(b'/'), Some(b'/')) => i = src[i..].find('\n').map_or(b.len(), |n| i + n),
            (Some(b'/'), Some(b'*')) => {
                let mut depth = 0;
                while i < b.len() {
                    if b[i..].starts_with(b"/*") {
                        depth += 1;
                        i += 2;
                    } else if b[i..].starts_with(b"*/") {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            _ => return i,
        }
    }
}

/// Past the token at `i`: a string or character literal whole, anything else one character.
fn skip_token(src: &str, i: usize) -> usize {
    let b = src.as_bytes();
    let ident = |k: usize| k > 0 && (b[k - 1].is_ascii_alphanumeric() || b[k - 1] == b'_');
    // Raw strings: r"..", r#".."#, br"..", cr"..".
    let raw_at = match &b[i..] {
        [b'r', ..] => Some(i + 1),
        [b'b' | b'c', b'r', ..] => Some(i + 2),
        _ => None,
    };
    if let Some(mut j) = raw_at.filter(|_| !ident(i)) {
        let hashes = b[j..].iter().take_while(|&&c| c == b'#').count();
        j += hashes;
        if b.get(j) == Some(&b'"') {
            let close = format!("\"{}", "#".repeat(hashes));
            return src[j + 1..].find(&close).map_or(b.len(), |n| j + 1 + n + close.len());
        }
    }
    match b[i] {
        b'"' => {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            j + 1
        }
        b'\'' => {
            // A character literal `'x'`, `'\n'`, `'\u{..}'`, or a lifetime `'a`.
            if b.get(i + 1) == Some(&b'\\') {
                src[i + 2..].find('\'').map_or(b.len(), |n| i + 2 + n + 1).max(i + 4)
            } else {
                let c = src[i + 1..].chars().next().map_or(0, char::len_utf8);
                if b.get(i + 1 + c) == Some(&b'\'') {
                    i + 2 + c
                } else {
                    i + 1
                }
            }
        }
        _ => i + src[i..].chars().next().map_or(1, char::len_utf8),
    }
}

/// Past the `]` matching the `[` at `open`.
fn close_bracket(src: &str, open: usize) -> usize {
    let b = src.as_bytes();
    let (mut depth, mut i) = (0usize, open);
    while i < b.len() {
        let next = skip_trivia(src, i);
        if next != i {
            i = next;
            continue;
        }
        match b[i] {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i = skip_token(src, i);
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(src: &str) -> Vec<(&str, bool)> {
        lex_attrs(src).into_iter().map(|a| (&src[a.range], a.adjacent)).collect()
    }

    #[test]
    fn finds_stacked_attributes() {
        let src = "#[test]\n/// doc\n#[netns_test(topology = \"a -- b [mtu=1400]\")]\nfn t() {}\n#[ignore] fn u() {}";
        assert_eq!(
            attrs(src),
            [("#[test]", false), ("#[netns_test(topology = \"a -- b [mtu=1400]\")]", true), ("#[ignore]", false)]
        );
    }

    #[test]
    fn skips_strings_chars_and_comments() {
        let src = r###"
            const A: &str = "#[test] \" ]";
            const B: &str = r#"#[test] "# ;
            const C: char = '#'; const D: char = '\''; fn f<'a>(x: &'a str) {}
            /* #[test] /* nested */ */ // #[test]
            #[a] #[b(c = "]")]
            fn g() {}
        "###;
        assert_eq!(attrs(src), [("#[a]", false), ("#[b(c = \"]\")]", true)]);
    }

    #[test]
    fn nothing_without_a_location() {
        assert!(attrs_above(Span::call_site()).is_none());
    }

    #[test]
    fn attributes_above_ours_in_a_file() {
        let file = std::env::temp_dir().join(format!("netns-test-macros-source-{}.rs", std::process::id()));
        let src = "#[test]\n#[ignore] /* x */\n  #[netns_test(topology = \"a -- b\")]\nfn t() {}\n\
                   fn u() {}\n#[netns_test(topology = \"a -- b\")] fn v() {}\n";
        std::fs::write(&file, src).unwrap();
        let names = |line, column| {
            attrs_above_at(file.clone(), line, column)
                .map(|v| v.iter().map(|a| quote::ToTokens::to_token_stream(a.path()).to_string()).collect::<Vec<_>>())
        };
        assert_eq!(names(3, 2).unwrap(), ["test", "ignore"]);
        assert_eq!(names(6, 0).unwrap(), Vec::<String>::new());
        assert_eq!(names(1, 0), None, "not a netns_test attribute");
        std::fs::remove_file(&file).unwrap();
    }
}
