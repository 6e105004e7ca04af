//! `topology = ".." | topology_file = "..", node = "..", timeout = ".."` → checked arguments.

use crate::file::{self, Source};
use netns_test_topology::{Errors, Topology};
use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, MetaNameValue, Token};

pub(crate) struct Args {
    /// The topology text as an expression: the literal, or `include_str!` of the file.
    pub topology: TokenStream,
    /// The node the body runs in (checked to exist).
    pub node: String,
    pub timeout_ms: u64,
}

const DEFAULT_TIMEOUT_MS: u64 = 60_000;

impl Args {
    pub(crate) fn parse(attr: TokenStream) -> syn::Result<Args> {
        let metas = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("{e}: write `topology = \"..\"` (and optionally `node = \"..\"`, `timeout = \"30s\"`)"),
            )
        })?;
        let (mut topology, mut topology_file, mut node, mut timeout) = (None, None, None, None);
        let mut errors = Vec::new();
        // Once an argument was reported as wrong, "topology is missing" would only add noise.
        let mut missing_ok = false;
        for m in metas {
            let key = m.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            let slot = match key.as_str() {
                "topology" => &mut topology,
                "topology_file" => &mut topology_file,
                "node" => &mut node,
                "timeout" => &mut timeout,
                _ => {
                    let hint = ["topology", "topology_file", "node", "timeout"]
                        .into_iter()
                        .find(|k| close(k, &key))
                        .map_or(String::new(), |k| format!("did you mean `{k}`? "));
                    errors.push(syn::Error::new_spanned(
                        &m.path,
                        format!("unknown argument `{key}`; {hint}expected `topology = \"..\"`, `node = \"..\"` or `timeout = \"30s\"`"),
                    ));
                    missing_ok = true;
                    continue;
                }
            };
            match string(&m.value) {
                Some(s) if slot.is_none() => *slot = Some(s),
                Some(_) => errors.push(syn::Error::new_spanned(&m.path, format!("`{key}` given twice"))),
                None => {
                    errors.push(syn::Error::new_spanned(&m.value, format!("`{key}` takes a string literal")));
                    missing_ok = true;
                }
            }
        }
        let given = topology.is_some() || topology_file.is_some();
        let Some(topology) = Source::pick(topology, topology_file, &mut errors) else {
            if missing_ok || given {
                return Err(combine(errors));
            }
            errors.push(syn::Error::new(
                Span::call_site(),
                "missing `topology = \"..\"`, e.g. #[netns_test(topology = \"a=10.0.0.1/24 -- b=10.0.0.2/24\")]",
            ));
            return Err(combine(errors));
        };
        let timeout_ms = match &timeout {
            None => DEFAULT_TIMEOUT_MS,
            Some(t) => match parse_duration_ms(&t.value()) {
                Some(0) => {
                    errors.push(syn::Error::new(t.span(), "timeout must be longer than zero"));
                    0
                }
                Some(ms) => ms,
                None => {
                    errors.push(syn::Error::new(t.span(), "timeout must look like `500ms`, `30s` or `2m`"));
                    0
                }
            },
        };
        let node = match Topology::parse(&topology.text()) {
            Err(errs) => {
                errors.push(match &topology {
                    Source::Inline(lit) => topology_errors(lit, &errs),
                    Source::File(lit, f) => file::errors(lit, f, &errs),
                });
                None
            }
            Ok(t) => match &node {
                None => Some(t.nodes[0].name.clone()),
                Some(n) if t.node_index(&n.value()).is_some() => Some(n.value()),
                Some(n) => {
                    let names: Vec<_> = t.nodes.iter().map(|n| format!("`{}`", n.name)).collect();
                    errors.push(syn::Error::new(
                        n.span(),
                        format!("unknown node `{}`; the topology's nodes are {}", n.value(), names.join(", ")),
                    ));
                    None
                }
            },
        };
        match node {
            Some(node) if errors.is_empty() => Ok(Args { topology: topology.expr(), node, timeout_ms }),
            _ => Err(combine(errors)),
        }
    }
}

fn string(e: &Expr) -> Option<LitStr> {
    match e {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
        _ => None,
    }
}

/// One compile error per topology mistake, each pointing into the string where the compiler
/// allows it (sub-spans of literals exist on nightly only) and quoting the spot otherwise.
fn topology_errors(lit: &LitStr, errs: &Errors) -> syn::Error {
    let src = lit.value();
    combine(
        errs.0
            .iter()
            .map(|e| {
                let span = subspan(lit, &src, e.span.clone()).unwrap_or_else(|| lit.span());
                syn::Error::new(span, format!("invalid topology at {}", e.render(&src)))
            })
            .collect(),
    )
}

/// The span of `range` of the literal's value, when the literal has no escapes to shift offsets.
fn subspan(lit: &LitStr, src: &str, range: std::ops::Range<usize>) -> Option<Span> {
    let token = lit.token();
    let text = token.to_string();
    let quote = text.find('"')?;
    if text[quote + 1..text.len() - 1 - text[..quote].matches('#').count()] != *src {
        return None; // escapes: offsets in the value differ from offsets in the source
    }
    let (start, end) = (quote + 1 + range.start, quote + 1 + range.end.max(range.start + 1).min(src.len()));
    token.subspan(start..end)
}

fn combine(errors: Vec<syn::Error>) -> syn::Error {
    let mut it = errors.into_iter();
    let mut first = it.next().expect("at least one error");
    for e in it {
        first.combine(e);
    }
    first
}

fn parse_duration_ms(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => n,
        "s" => n.checked_mul(1000)?,
        "m" | "min" => n.checked_mul(60_000)?,
        _ => return None,
    };
    Some(ms)
}

/// One edit apart (a typo), for "did you mean" hints.
fn close(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()] <= 2
}
