//! A string literal of the attribute: its token as written (for spans into it) and its value.
//!
//! ```ignore
//! let s = lit::string(&value_tokens).expect("a string literal");
//! let span = s.span(); // points at the literal, for errors
//! ```

use proc_macro2::{Literal, Span, TokenStream, TokenTree};
use syn::Lit;

/// A string literal: its token as written, and its value.
pub(crate) struct Str {
    pub token: Literal,
    pub value: String,
}

impl Str {
    pub(crate) fn span(&self) -> Span {
        self.token.span()
    }

    /// As syn's literal (for the topology file's path).
    pub(crate) fn to_syn(&self) -> syn::LitStr {
        match Lit::new(self.token.clone()) {
            Lit::Str(s) => s,
            _ => unreachable!("a string literal"),
        }
    }
}

/// The single literal `value` is, if it is one.
pub(crate) fn literal(value: &TokenStream) -> Option<Literal> {
    let mut trees = value.clone().into_iter();
    match (trees.next(), trees.next()) {
        (Some(TokenTree::Literal(l)), None) => Some(l),
        _ => None,
    }
}

/// `value` as a string literal, if it is one.
pub(crate) fn string(value: &TokenStream) -> Option<Str> {
    let token = literal(value)?;
    let text = token.to_string();
    // Without escapes (nor a suffix), the value is the text between the quotes.
    if let Some(plain) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        // (Searched one character at a time, which memchr does fast even in a debug build.)
        if !plain.contains('\\') && !plain.contains('\r') {
            return Some(Str { value: plain.to_string(), token });
        }
    }
    match Lit::new(token.clone()) {
        Lit::Str(s) => Some(Str { value: s.value(), token }),
        _ => None,
    }
}
