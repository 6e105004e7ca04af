//! Topology errors with byte spans into the source text.

use crate::text::{floor_char_boundary, is_blank, is_space_char, line_col, show};
use std::fmt;
use std::ops::Range;

/// One mistake in a topology, located by a byte range of the source.
///
/// ```
/// let src = "a=10.0.0.1/33 -- b";
/// let errors = netns_test_topology::Topology::parse(src).unwrap_err();
/// let e = &errors.0[0];
/// assert_eq!(&src[e.span.clone()], "/33");
/// assert_eq!(e.message, "prefix length /33 is too long for IPv4 (at most 32)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Byte range in the topology text (may be empty, e.g. at the end of input).
    pub span: Range<usize>,
    /// What is wrong, e.g. ``unknown option `foward` ``.
    pub message: String,
    /// How to fix it, when there is something useful to say.
    pub help: Option<String>,
}

/// All mistakes found in a topology, in source order.
///
/// ```
/// let errors = netns_test_topology::Topology::parse("a -- a; b [foward]").unwrap_err();
/// assert_eq!(errors.0.len(), 2);
/// assert!(errors.to_string().starts_with("link from node `a` to itself"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl Error {
    /// An error at `span` of the topology text.
    ///
    /// ```
    /// let e = netns_test_topology::Error::new(0..1, "unknown node `x`");
    /// assert_eq!(e.render("x"), "1:1: unknown node `x`\n  x\n  ^");
    /// ```
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Error { span, message: message.into(), help: None }
    }

    /// The same error with a hint on how to fix it.
    ///
    /// ```
    /// let e = netns_test_topology::Error::new(2..3, "unknown node `x`").help("did you mean `a`?");
    /// assert!(e.render("a\nx").ends_with("help: did you mean `a`?"));
    /// ```
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A multi-line rendering with line:column and a caret under the offending text.
    ///
    /// ```
    /// let src = "a -- b\nr [foward]";
    /// let errors = netns_test_topology::Topology::parse(src).unwrap_err();
    /// println!("{}", errors.0[0].render(src));
    /// ```
    ///
    /// prints
    ///
    /// ```text
    /// 1:9: unknown option `foward`
    ///   r [foward]
    ///      ^^^^^^
    ///   help: known node options: forward
    /// ```
    ///
    /// Invisible and control characters of the quoted line are escaped as in messages (`\t`,
    /// `\u{feff}`), and the caret is placed over the escaped text. When there is nothing to
    /// point at (an empty span, or one covering only spaces, tabs and comments, as in an empty
    /// topology) only the `line:col: message` line and the help are written.
    pub fn render(&self, src: &str) -> String {
        let start = floor_char_boundary(src, self.span.start.min(src.len()));
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let (line_no, col) = line_col(src, start);
        let mut s = format!("{line_no}:{col}: {}", self.message);
        let end = floor_char_boundary(src, self.span.end.clamp(start, src.len()));
        if !is_blank(&src[start..end]) {
            let line = &src[line_start..line_end];
            // Only what the parser skips is trimmed: other whitespace (NBSP, U+2028, ...) is
            // ordinary text to it, and is shown escaped.
            let trimmed = line.trim_matches(is_space_char);
            let indent = line.len() - line.trim_start_matches(is_space_char).len();
            let text_start = line_start + indent;
            let text_end = text_start + trimmed.len();
            // The span may start inside the leading whitespace or run past the line.
            let from = start.clamp(text_start, text_end);
            let to = end.clamp(from, text_end);
            let pre = show(&src[text_start..from]).chars().count();
            let width = show(&src[from..to]).chars().count().max(1);
            s.push_str(&format!("\n  {}\n  {}{}", show(trimmed), " ".repeat(pre), "^".repeat(width)));
        }
        if let Some(h) = &self.help {
            s.push_str("\n  help: ");
            s.push_str(h);
        }
        s
    }
}

impl Errors {
    /// Every error rendered against the source, separated by blank lines, as the macro and the
    /// CLI show them.
    ///
    /// ```
    /// let src = "a -- a\nb [foward]";
    /// let shown = netns_test_topology::Topology::parse(src).unwrap_err().render(src);
    /// assert!(shown.starts_with("1:6: link from node `a` to itself"));
    /// assert!(shown.contains("\n\n2:4: unknown option `foward`"));
    /// ```
    pub fn render(&self, src: &str) -> String {
        self.0.iter().map(|e| e.render(src)).collect::<Vec<_>>().join("\n\n")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at bytes {}..{})", self.message, self.span.start, self.span.end)
    }
}

impl fmt::Display for Errors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}
impl std::error::Error for Errors {}
