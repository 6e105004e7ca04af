//! Topology errors with byte spans into the source text.

use std::fmt;
use std::ops::Range;

/// One mistake in a topology, located by a byte range of the source.
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Errors(pub Vec<Error>);

impl Error {
    pub fn new(span: Range<usize>, message: impl Into<String>) -> Self {
        Error { span, message: message.into(), help: None }
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// A multi-line rendering with line:column and a caret under the offending text:
    ///
    /// ```text
    /// 1:9: unknown option `foward`
    ///   r [foward]
    ///      ^^^^^^
    ///   help: known node options: forward
    /// ```
    pub fn render(&self, src: &str) -> String {
        let start = self.span.start.min(src.len());
        let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
        let line_no = src[..start].matches('\n').count() + 1;
        let col = src[line_start..start].chars().count() + 1;
        let line = &src[line_start..line_end];
        let trimmed = line.trim_start();
        // The span may start inside the leading whitespace (e.g. a blank topology).
        let indent = (line.len() - trimmed.len()).min(start - line_start);
        let pre = src[line_start + indent..start].chars().count();
        let end = self.span.end.clamp(start, line_end);
        let width = src[start..end].chars().count().max(1);
        let mut s = format!(
            "{line_no}:{col}: {}\n  {}\n  {}{}",
            self.message,
            trimmed.trim_end(),
            " ".repeat(pre),
            "^".repeat(width)
        );
        if let Some(h) = &self.help {
            s.push_str("\n  help: ");
            s.push_str(h);
        }
        s
    }
}

impl Errors {
    /// Every error rendered against the source, separated by blank lines.
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
