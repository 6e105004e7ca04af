//! Helpers on the topology text shared by the parser and the error renderer.

/// The whitespace the parser skips between tokens (besides `\n`, which ends a statement).
pub(crate) fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r')
}

/// [`is_space`] for a `char`.
pub(crate) fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

/// Whether `text` holds nothing but the parser's whitespace and `#` comments.
pub(crate) fn is_blank(text: &str) -> bool {
    text.split('\n').all(|l| l.split('#').next().unwrap_or("").trim_matches(is_space_char).is_empty())
}

/// Line and column (1-based, columns in chars) of byte offset `off`, as errors show them.
pub(crate) fn line_col(src: &str, off: usize) -> (usize, usize) {
    let before = &src[..floor_char_boundary(src, off.min(src.len()))];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// `line:col` of byte offset `off`, for "first at 1:5" in messages.
pub(crate) fn at(src: &str, off: usize) -> String {
    let (line, col) = line_col(src, off);
    format!("{line}:{col}")
}

pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// User text for a message or a quoted source line, with invisible characters escaped.
pub(crate) fn show(s: &str) -> String {
    s.chars().map(show_char).collect()
}

/// One character of user text, escaped (`\t`, `\u{feff}`) when it would be invisible.
pub(crate) fn show_char(c: char) -> String {
    let invisible = c.is_control()
        || (!c.is_ascii() && c.is_whitespace())
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
        || is_combining(c);
    if invisible {
        c.escape_default().to_string()
    } else {
        c.to_string()
    }
}

/// Whether `c` is a combining mark (the common blocks of general categories Mn/Me), which
/// would otherwise merge with the backtick or letter before it in a message.
fn is_combining(c: char) -> bool {
    matches!(
        c,
        '\u{300}'..='\u{36f}'
            | '\u{1ab0}'..='\u{1aff}'
            | '\u{1dc0}'..='\u{1dff}'
            | '\u{20d0}'..='\u{20ff}'
            | '\u{fe20}'..='\u{fe2f}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars() {
        assert_eq!(line_col("ab\ncé d", 7), (2, 4));
        assert_eq!(line_col("ab", 99), (1, 3));
        assert_eq!(at("a\n\nb", 3), "3:1");
    }
}
