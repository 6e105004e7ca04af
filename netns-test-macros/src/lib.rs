//! The `#[netns_test]` attribute. Use it through the `netns-test` crate, which documents it.
//!
//! Kept thin: `args` reads the attribute (its string literals through `lit`) (and validates the topology with the shared
//! `netns-test-topology` crate, so mistakes are compile errors), `stacked` (with `source`)
//! refuses other test attributes on the same function, `render` writes the test.

mod args;
mod file;
mod lit;
mod render;
mod source;
mod stacked;

use proc_macro::TokenStream;

/// Runs the test in fresh, rootless network namespaces built from `topology`.
///
/// ```ignore
/// use netns_test::{netns_test, Net};
///
/// #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", node = "a", timeout = "10s")]
/// fn pings(net: &Net) {
///     net.ping("a", "10.0.0.2".parse().unwrap()).unwrap();
/// }
/// ```
///
/// - `topology = ".."` (required): the network, checked at compile time; every mistake is a
///   compile error quoting its line and column.
/// - `node = ".."`: the node the body runs in (default: the first node named).
/// - `timeout = ".."`: `500ms`, `30s`, `2m` (default `60s`); the test and its programs are
///   killed after it.
/// - `crate = ".."`: the path of the `netns_test` crate when it is re-exported
///   (`crate = "my_kit::netns_test"`; default `::netns_test`).
/// - `flavor = "multi_thread"` (async bodies): a tokio multi-thread runtime whose workers are all
///   in the node; `worker_threads = N` sets their number.
///
/// The function may take `net: &Net` or nothing, return `()` or `Result<(), E: Debug>`, and be
/// `async` (tokio, current-thread, inside the node). `#[ignore]` composes; `#[should_panic]` is
/// taken over (only the body's own panic or `Err` satisfies it, never a timeout or a signal).
/// `#[test]` (however spelled), `#[tokio::test]` or `#[async_std::test]` stacked with it, in
/// either order, is a compile error: it would register the test twice.
#[proc_macro_attribute]
pub fn netns_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    let mut func = match Func::parse(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let err = e.to_compile_error();
            return quote::quote!(#err #item).into();
        }
    };
    let args = args::Args::parse(attr.into());
    let result = match (args, stacked::stacked_test(&func, proc_macro2::Span::call_site())) {
        (Ok(a), None) => render::test(a, &func),
        (Ok(_), Some(e)) => Err(e),
        (Err(mut e), stacked) => {
            e.extend(stacked);
            Err(e)
        }
    };
    match result {
        Ok(tokens) => tokens.into(),
        // Keep the function, so its body still type-checks and its imports count as used, but
        // never as a test (nor another attribute's): nothing can pass while the attribute is wrong.
        Err(e) => {
            let err = e.to_compile_error();
            func.attrs.retain(|a| !stacked::is_test_attr(a));
            quote::quote!(#err #[allow(dead_code)] #func).into()
        }
    }
}

/// The function the attribute is on. Its body is kept as the compiler's tokens, never parsed
/// (rustc parses it, once, and reports its mistakes): the attribute only needs the signature.
pub(crate) struct Func {
    pub attrs: Vec<syn::Attribute>,
    pub vis: syn::Visibility,
    pub sig: syn::Signature,
    /// `{ .. }`
    pub body: proc_macro2::Group,
}

impl Func {
    pub(crate) fn parse(item: proc_macro2::TokenStream) -> syn::Result<Func> {
        use proc_macro2::{Delimiter, TokenTree};
        use syn::parse::{ParseStream, Parser};
        let mut head: Vec<TokenTree> = item.clone().into_iter().collect();
        let err = match head.pop() {
            Some(TokenTree::Group(body)) if body.delimiter() == Delimiter::Brace => {
                let parse =
                    |input: ParseStream| Ok((input.call(syn::Attribute::parse_outer)?, input.parse()?, input.parse()?));
                match parse.parse2(head.into_iter().collect()) {
                    Ok((attrs, vis, sig)) => return Ok(Func { attrs, vis, sig, body }),
                    Err(e) => e,
                }
            }
            _ => syn::Error::new_spanned(&item, "expected a function"),
        };
        // Not a function: syn's error, as for any item.
        Err(syn::parse2::<syn::ItemFn>(item).err().unwrap_or(err))
    }
}

impl quote::ToTokens for Func {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        tokens.extend(self.attrs.iter().map(quote::ToTokens::to_token_stream));
        self.vis.to_tokens(tokens);
        self.sig.to_tokens(tokens);
        self.body.to_tokens(tokens);
    }
}
