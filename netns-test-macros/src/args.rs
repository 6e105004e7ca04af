//! `topology = ".." | topology_file = "..", node = "..", timeout = "..", crate = ".."` → checked
//! arguments.

use crate::file::{self, Source};
use crate::lit::{literal, string, Str};
use netns_test_topology::{did_you_mean, parse_duration, DurationError, Errors, Topology};
use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, MetaNameValue, Token};

pub(crate) struct Args {
    /// The topology text as an expression: the literal, or `include_str!` of the file.
    pub topology: TokenStream,
    /// The node the body runs in (checked to exist).
    pub node: String,
    pub timeout_ms: u64,
    /// The runtime crate: `::netns_test`, or the path given with `crate = ".."`.
    pub krate: syn::Path,
    /// `flavor = "multi_thread"`: `Some(workers)` (0: tokio's default); `None`: current-thread.
    pub multi_thread: Option<usize>,
    /// Where the runtime arguments were written, for "only for async bodies".
    pub runtime_span: Option<Span>,
    /// The topology's span when it runs a DNS server (`d [dns]`): the runtime must have its
    /// `dns` feature, which the generated code checks at compile time.
    pub dns: Option<Span>,
}

/// The arguments, as listed when one is unknown: name and example value.
const KNOWN: [(&str, &str); 7] = [
    ("topology", ".."),
    ("topology_file", "net.topo"),
    ("node", ".."),
    ("timeout", "30s"),
    ("crate", ".."),
    ("flavor", "multi_thread"),
    ("worker_threads", "2"),
];

const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// One `key = value` of the attribute.
struct Pair {
    /// The key as written (an identifier; a path is an unknown argument).
    path: TokenStream,
    key: String,
    /// A literal alone, or the expression written.
    value: TokenStream,
}

/// `key = value, ..`: what everyone writes (`ident = literal`) is read from the tokens directly;
/// anything else goes through syn, for its errors. syn would parse each value as an expression
/// and unescape every string literal several times, the long topology too (a third of the
/// attribute's cost in a debug build).
fn pairs(attr: TokenStream) -> syn::Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    let mut tokens = attr.clone().into_iter();
    loop {
        let pair = match (tokens.next(), tokens.next(), tokens.next()) {
            (None, _, _) => return Ok(pairs),
            (Some(TokenTree::Ident(k)), Some(TokenTree::Punct(eq)), Some(TokenTree::Literal(v)))
                if eq.as_char() == '=' =>
            {
                Pair { key: k.to_string(), path: TokenTree::Ident(k).into(), value: TokenTree::Literal(v).into() }
            }
            _ => break,
        };
        pairs.push(pair);
        match tokens.next() {
            None => return Ok(pairs),
            Some(TokenTree::Punct(p)) if p.as_char() == ',' => {}
            Some(_) => break,
        }
    }
    let metas = Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse2(attr).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("{e}: write `topology = \"..\"` (and optionally `node = \"..\"`, `timeout = \"30s\"`)"),
        )
    })?;
    Ok(metas
        .into_iter()
        .map(|m| Pair {
            key: m.path.get_ident().map(|i| i.to_string()).unwrap_or_default(),
            path: m.path.into_token_stream(),
            value: match m.value {
                Expr::Lit(ExprLit { lit, .. }) => lit.into_token_stream(),
                other => other.into_token_stream(),
            },
        })
        .collect())
}

impl Args {
    pub(crate) fn parse(attr: TokenStream) -> syn::Result<Args> {
        let metas = pairs(attr)?;
        let (mut topology, mut topology_file, mut node, mut timeout, mut krate, mut flavor) =
            (None, None, None, None, None, None);
        let mut workers: Option<(usize, Span)> = None;
        let mut errors = Vec::new();
        // Once an argument was reported as wrong, "topology is missing" would only add noise.
        let mut missing_ok = false;
        for m in metas {
            let key = m.key;
            if key == "worker_threads" {
                match int(&m.value) {
                    _ if workers.is_some() => {
                        errors.push(syn::Error::new_spanned(&m.path, "`worker_threads` given twice"))
                    }
                    Some(0) | None => errors.push(syn::Error::new_spanned(
                        &m.value,
                        "`worker_threads` takes a positive integer, e.g. `worker_threads = 2`",
                    )),
                    Some(n) => workers = Some((n, syn::spanned::Spanned::span(&m.path))),
                }
                continue;
            }
            let slot = match key.as_str() {
                "topology" => &mut topology,
                "topology_file" => &mut topology_file,
                "node" => &mut node,
                "timeout" => &mut timeout,
                "crate" => &mut krate,
                "flavor" => &mut flavor,
                _ => {
                    let hint = did_you_mean(&key, KNOWN.map(|(k, _)| k))
                        .map_or(String::new(), |k| format!("did you mean `{k}`? "));
                    let list: Vec<String> = (KNOWN.iter())
                        .map(|(k, v)| match v.parse::<u32>() {
                            Ok(n) => format!("`{k} = {n}`"),
                            Err(_) => format!("`{k} = \"{v}\"`"),
                        })
                        .collect();
                    errors.push(syn::Error::new_spanned(
                        &m.path,
                        format!("unknown argument `{key}`; {hint}expected one of {}", list.join(", ")),
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
        let topology_file = topology_file.map(|f: Str| f.to_syn());
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
            Some(t) => match parse_duration(&t.value) {
                Ok(d) => d.as_millis() as u64,
                Err(e) => {
                    let msg = match e {
                        DurationError::Zero => "timeout must be longer than zero".to_string(),
                        DurationError::Malformed => "timeout must look like `500ms`, `30s` or `2m`".to_string(),
                        e => format!("timeout: {e}"),
                    };
                    errors.push(syn::Error::new(t.span(), msg));
                    0
                }
            },
        };
        let krate = match &krate {
            None => default_crate(),
            Some(k) => syn::LitStr::new(&k.value, k.span()).parse::<syn::Path>().unwrap_or_else(|_| {
                errors.push(syn::Error::new(
                    k.span(),
                    "`crate` takes the path of the netns-test crate as re-exported, e.g. `crate = \"my_crate::netns_test\"`",
                ));
                default_crate()
            }),
        };

        let mut dns = None;
        let node = match Topology::parse(topology.text()) {
            Err(errs) => {
                errors.push(match &topology {
                    Source::Inline(lit) => topology_errors(lit, &errs),
                    Source::File(lit, f) => file::errors(lit, f, &errs),
                });
                None
            }
            Ok(t) => {
                dns = (!t.dns_nodes().is_empty()).then(|| topology.span());
                match &node {
                    None => Some(t.nodes[0].name.clone()),
                    Some(n) if t.node_index(&n.value).is_some() => Some(n.value.clone()),
                    Some(n) => {
                        let names: Vec<_> = t.nodes.iter().map(|n| format!("`{}`", n.name)).collect();
                        errors.push(syn::Error::new(
                            n.span(),
                            format!("unknown node `{}`; the topology's nodes are {}", n.value, names.join(", ")),
                        ));
                        None
                    }
                }
            }
        };
        let multi_thread = match (flavor.as_ref().map(|f| f.value.as_str()), workers) {
            (Some("multi_thread"), w) => Some(w.map_or(0, |(n, _)| n)),
            (None | Some("current_thread"), None) => None,
            (None | Some("current_thread"), Some((_, span))) => {
                errors.push(syn::Error::new(span, "`worker_threads` needs `flavor = \"multi_thread\"`"));
                None
            }
            (Some(other), _) => {
                let f = flavor.as_ref().expect("matched Some");
                errors.push(syn::Error::new(
                    f.span(),
                    format!("unknown flavor `{other}`; expected `\"multi_thread\"` or `\"current_thread\"`"),
                ));
                None
            }
        };
        let runtime_span = flavor.as_ref().map(|f| f.span()).or(workers.map(|(_, s)| s));
        match node {
            Some(node) if errors.is_empty() => {
                Ok(Args { topology: topology.expr(), node, timeout_ms, krate, multi_thread, runtime_span, dns })
            }
            _ => Err(combine(errors)),
        }
    }
}

/// The literal that is the whole of `value`, if it is one.
fn int(value: &TokenStream) -> Option<usize> {
    match Lit::new(literal(value)?) {
        Lit::Int(i) => i.base10_parse().ok(),
        _ => None,
    }
}

/// One compile error per topology mistake, each pointing into the string where the compiler
/// allows it (sub-spans of literals exist on nightly only) and quoting the spot otherwise.
fn topology_errors(lit: &Str, errs: &Errors) -> syn::Error {
    let src = &lit.value;
    combine(
        errs.0
            .iter()
            .map(|e| {
                let span = subspan(lit, src, e.span.clone()).unwrap_or_else(|| lit.span());
                syn::Error::new(span, format!("invalid topology at {}", e.render(src)))
            })
            .collect(),
    )
}

/// The span of `range` of the literal's value, when the literal has no escapes to shift offsets.
fn subspan(lit: &Str, src: &str, range: std::ops::Range<usize>) -> Option<Span> {
    let token = &lit.token;
    let text = token.to_string();
    let quote = text.find('"')?;
    if text[quote + 1..text.len() - 1 - text[..quote].matches('#').count()] != *src {
        return None; // escapes: offsets in the value differ from offsets in the source
    }
    let (start, end) = (quote + 1 + range.start, quote + 1 + range.end.max(range.start + 1).min(src.len()));
    token.subspan(start..end)
}

/// `::netns_test`, built rather than parsed (parsing it costs more than all of `pairs`).
fn default_crate() -> syn::Path {
    let name = syn::PathSegment::from(proc_macro2::Ident::new("netns_test", Span::call_site()));
    syn::Path { leading_colon: Some(Default::default()), segments: std::iter::once(name).collect() }
}

fn combine(errors: Vec<syn::Error>) -> syn::Error {
    let mut it = errors.into_iter();
    let mut first = it.next().expect("at least one error");
    for e in it {
        first.combine(e);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::{quote, ToTokens};

    fn parse(attr: TokenStream) -> Result<Args, String> {
        Args::parse(attr).map_err(|e| e.into_compile_error().to_string())
    }

    fn err(attr: TokenStream) -> String {
        parse(attr).err().expect("should be rejected")
    }

    #[test]
    fn defaults() {
        let a = parse(quote!(topology = "a -- b")).unwrap();
        assert_eq!((a.node.as_str(), a.timeout_ms), ("a", DEFAULT_TIMEOUT_MS));
        assert_eq!(a.krate.to_token_stream().to_string(), ":: netns_test");
    }

    #[test]
    fn every_argument() {
        let a = parse(quote!(topology = "a -- b", node = "b", timeout = "1s", crate = "kit::nt")).unwrap();
        assert_eq!((a.node.as_str(), a.timeout_ms), ("b", 1000));
        assert_eq!(a.krate.to_token_stream().to_string(), "kit :: nt");
    }

    #[test]
    fn mistakes() {
        let e = err(quote!(topolgy = "a -- b"));
        assert!(e.contains("unknown argument `topolgy`; did you mean `topology`?"), "{e}");
        let e = err(quote!(topology = "a -- b", crat = "x"));
        assert!(e.contains("did you mean `crate`?"), "{e}");
        let e = err(quote!(topology = "a -- b", timeout = "5"));
        assert!(e.contains("timeout must look like"), "{e}");
        let e = err(quote!(topology = "a -- b", timeout = "0ms"));
        assert!(e.contains("longer than zero"), "{e}");
        let e = err(quote!(topology = "a -- b", node = "c"));
        assert!(e.contains("unknown node `c`; the topology's nodes are `a`, `b`"), "{e}");
        let e = err(quote!(topology = "a -- b", crate = "not a path"));
        assert!(e.contains("`crate` takes the path"), "{e}");
        let e = err(quote!(node = "a"));
        assert!(e.contains("missing `topology"), "{e}");
    }

    #[test]
    fn values_plain_escaped_raw_or_through_syn() {
        let a = parse(quote!(topology = "a -- b", node = "b")).unwrap();
        assert_eq!(a.node, "b");
        let a = parse(quote!(topology = "a -- \x62", node = "\x62")).unwrap();
        assert_eq!(a.node, "b");
        let a = parse(quote!(topology = r#"a -- b"#, node = r"b",)).unwrap();
        assert_eq!(a.node, "b");
        // Not `ident = literal`: syn reads it, and says what is wrong.
        let e = err(quote!(topology = ("a -- b")));
        assert!(e.contains("`topology` takes a string literal"), "{e}");
        let e = err(quote!(topology = "a -- b", x::node = "a"));
        assert!(e.contains("unknown argument ``"), "{e}");
        let e = err(quote!(topology = "a -- b" node = "a"));
        assert!(e.contains("expected `,`: write `topology"), "{e}");
    }

    #[test]
    fn topology_mistakes_quote_the_spot() {
        let e = err(quote!(topology = "a -- b [mut=1400]"));
        assert!(e.contains("invalid topology at 1:9: unknown option `mut`"), "{e}");
        assert!(e.contains("did you mean `mtu`?"), "{e}");
    }
}
