//! Topology text -> [`Ast`] with byte spans.
//!
//! A hand-written, contextual parser: addresses (which contain `:`) are lexed only where an
//! address is expected. On a syntax error the parser records it, skips to the next statement
//! separator (`;` or a newline outside `{ }`) and goes on, so every bad statement is reported.
//! The statements it could make sense of are returned too, so they can be validated as well.
//!
//! This file holds the cursor (whitespace, tokens, recovery); `stmt` the statements, `options`
//! the `[..]` option lists, `words` the names and addresses.

mod block;
mod dns;
mod expect;
mod options;
mod stmt;
mod words;

pub(crate) use block::rule;

use crate::ast::{Ast, Name, Span};
use crate::error::Error;
use crate::text::{is_space, is_space_char, show};

/// Parses `src`: the statements that could be parsed and every syntax error, in source order.
///
/// A statement with an error inside (a bad address, name or option) is kept without the bad
/// part; one that could not be parsed at all is left out.
pub(crate) fn parse(src: &str) -> (Ast, Vec<Error>) {
    let mut p = Parser::new(src);
    let mut stmts = Vec::new();
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b'\n' | b';') => {
                p.pos += 1;
                continue;
            }
            _ => {}
        }
        match p.stmt() {
            Ok(s) => {
                p.skip_ws();
                if !p.at_stmt_end() {
                    // The statement itself is complete: keep it, and report what follows.
                    let e = p.trailing();
                    p.errors.push(e);
                    p.recover();
                }
                stmts.push(s);
            }
            Err(e) => {
                p.errors.push(e);
                p.recover();
            }
        }
    }
    if p.errors.is_empty() && stmts.is_empty() {
        p.errors.push(
            Error::new(0..src.len(), "empty topology")
                .help("write at least one link or bridge, e.g. `a=10.0.0.1/24 -- b=10.0.0.2/24`"),
        );
    }
    p.errors.sort_by_key(|e| e.span.start);
    (Ast { stmts }, p.errors)
}

/// A link's option list written without its brackets (`delay=20ms, loss=1%`), as the runtime's
/// `Link::set` takes it: the grammar's own option parser, so the same options and messages.
pub(crate) fn link_options(text: &str) -> Result<(Option<u32>, crate::Conditions), crate::Errors> {
    let o: crate::ast::LinkOpts = bare_options(text, |_, _| {})?;
    Ok((o.mtu, o.conditions))
}

/// A node's option list written without its brackets (`nat-type=symmetric, udp-timeout=30s`),
/// checked by `check` once read (the options' spans, and those of the errors it adds, are into
/// `[text]`); the errors' spans returned are into `text`.
pub(crate) fn node_options(
    text: &str,
    check: impl FnOnce(&crate::ast::NodeOpts, &mut Vec<Error>),
) -> Result<crate::ast::NodeOpts, crate::Errors> {
    bare_options(text, check)
}

/// `text` read as the inside of `[..]`; `check` sees the result and may add errors.
fn bare_options<O: options::OptionList>(
    text: &str,
    check: impl FnOnce(&O, &mut Vec<Error>),
) -> Result<O, crate::Errors> {
    let src = format!("[{text}]");
    let mut p = Parser::new(&src);
    let opts: Result<O, Error> = p.opts();
    let mut errors = std::mem::take(&mut p.errors);
    match opts {
        Err(e) => errors.push(e),
        Ok(_) if p.pos != src.len() => errors.push(Error::new(p.pos..src.len() - 1, "unexpected `]`")),
        Ok(o) => {
            // The options' spans, and so `check`'s errors, are into `[text]` too.
            check(&o, &mut errors);
            if errors.is_empty() {
                return Ok(o);
            }
        }
    }
    // Spans into `text`: without the opening bracket.
    for e in &mut errors {
        e.span = e.span.start.saturating_sub(1).min(text.len())..e.span.end.saturating_sub(1).min(text.len());
    }
    errors.sort_by_key(|e| e.span.start);
    Err(crate::Errors(errors))
}

type PResult<T> = Result<T, Error>;

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Errors that did not stop the current statement (bad address, bad name, ...).
    errors: Vec<Error>,
}

/// Ends a node name.
fn node_stop(c: u8) -> bool {
    is_space(c) || b"\n;#:=[]{},|".contains(&c)
}

/// Ends an interface or bridge name (`:` and `/` are kept, to be reported as invalid).
fn name_stop(c: u8) -> bool {
    is_space(c) || b"\n;#=[]{},|".contains(&c)
}

/// Ends an address.
fn addr_stop(c: u8) -> bool {
    is_space(c) || b"\n;#|,{}[]".contains(&c)
}

/// Ends an option name or value.
fn opt_stop(c: u8) -> bool {
    is_space(c) || b"\n;#=,{}[]".contains(&c)
}

const STMT_HELP: &str = "a statement is a link `a -- b`, a bridge `bridge br0 { a, b }`, \
                         node options `r [forward]`, a route `h: default via 10.0.0.1` or a firewall rule `h: block udp`";

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Self {
        Parser { src, b: src.as_bytes(), pos: 0, errors: Vec::new() }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn at_dashdash(&self) -> bool {
        self.b[self.pos..].starts_with(b"--")
    }

    /// At a dash that is not `--` (`-`, `–`, `—`, `−`): a misspelt link.
    fn at_dash(&self) -> bool {
        self.src[self.pos..].starts_with(['-', '\u{2013}', '\u{2014}', '\u{2212}'])
    }

    /// Skips spaces, tabs and a comment, but not the newline ending it.
    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if is_space(c) {
                self.pos += 1;
            } else if c == b'#' {
                self.skip_comment();
            } else {
                break;
            }
        }
    }

    /// Like [`Self::skip_ws`], also skipping newlines (inside `{ }`).
    fn skip_ws_nl(&mut self) {
        loop {
            self.skip_ws();
            if self.peek() == Some(b'\n') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn skip_comment(&mut self) {
        self.pos = self.b[self.pos..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |i| self.pos + i);
    }

    fn at_stmt_end(&self) -> bool {
        matches!(self.peek(), None | Some(b'\n' | b';'))
    }

    /// Consumes a run of bytes until `stop` or `--`. Always ends on a char boundary, since
    /// every stop byte is ASCII.
    fn run(&mut self, stop: fn(u8) -> bool) -> Span {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if stop(c) || self.at_dashdash() {
                break;
            }
            self.pos += 1;
        }
        start..self.pos
    }

    /// The token at `pos`, for "found ..." messages: its span and a description.
    fn token_at(&self, pos: usize) -> (Span, String) {
        match self.b.get(pos) {
            None => (pos..pos, "end of input".into()),
            Some(b'\n') => (pos..pos, "end of line".into()),
            Some(_) if self.b[pos..].starts_with(b"--") => (pos..pos + 2, "`--`".into()),
            Some(&c) if addr_stop(c) || c == b'=' || c == b':' => (pos..pos + 1, format!("`{}`", c as char)),
            Some(_) => {
                let mut end = pos;
                while end < self.b.len() && !node_stop(self.b[end]) && !self.b[end..].starts_with(b"--") {
                    end += 1;
                }
                if end == pos {
                    end = pos + self.src[pos..].chars().next().map_or(1, char::len_utf8);
                }
                (pos..end, format!("`{}`", show(&self.src[pos..end])))
            }
        }
    }

    /// "expected X, found Y" at the current position.
    fn expected(&self, what: &str) -> Error {
        let (span, found) = self.token_at(self.pos);
        Error::new(span, format!("expected {what}, found {found}"))
    }

    /// Error for leftover text after a complete statement.
    fn trailing(&self) -> Error {
        let (span, found) = self.token_at(self.pos);
        match &self.src[span.clone()] {
            "}" => Error::new(span, "unmatched `}`"),
            "]" => Error::new(span, "unmatched `]`"),
            "--" => {
                Error::new(span, "unexpected `--`").help("a link joins exactly two endpoints: write `a -- b; b -- c`")
            }
            _ => Error::new(span, format!("unexpected {found}")).help("separate statements with `;` or a newline"),
        }
    }

    /// Skips to the next statement separator, jumping over balanced `{ }`.
    fn recover(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b'\n' | b';' => break,
                b'#' => self.skip_comment(),
                b'{' => match self.find_close(self.pos) {
                    Some(close) => self.pos = close + 1,
                    None => self.pos += 1,
                },
                _ => self.pos += 1,
            }
        }
    }

    /// The `}` closing the `{` at `open`, skipping comments; `None` if another `{` or the end
    /// comes first.
    fn find_close(&self, open: usize) -> Option<usize> {
        let mut i = open + 1;
        while i < self.b.len() {
            match self.b[i] {
                b'}' => return Some(i),
                b'{' => return None,
                b'#' => {
                    while i < self.b.len() && self.b[i] != b'\n' {
                        i += 1;
                    }
                }
                _ => i += 1,
            }
        }
        None
    }

    /// When the `{` at `open` has no `}` because another `{` comes first: that `{`, if it is a
    /// stray one (`{{ a, b }`) rather than the start of the next bridge statement, which would
    /// mean the first `{` is the unclosed one.
    fn stray_open(&self, open: usize) -> Option<usize> {
        let mut i = open + 1;
        while i < self.b.len() {
            match self.b[i] {
                b'}' => return None,
                b'{' => break,
                b'#' => i = self.b[i..].iter().position(|&c| c == b'\n').map_or(self.b.len(), |k| i + k),
                _ => i += 1,
            }
        }
        if i >= self.b.len() {
            return None;
        }
        // The text between the last separator and the inner `{`: a new `bridge ..` statement?
        let from =
            self.b[open + 1..i].iter().rposition(|&c| matches!(c, b'\n' | b';')).map_or(open + 1, |k| open + 2 + k);
        let before = self.src[from..i].trim_start_matches(is_space_char);
        let new_bridge = before.strip_prefix("bridge").is_some_and(|r| r.starts_with([' ', '\t']));
        (!new_bridge).then_some(i)
    }

    fn name(&self, span: Span) -> Name {
        Name { text: self.src[span.clone()].to_string(), span }
    }
}
