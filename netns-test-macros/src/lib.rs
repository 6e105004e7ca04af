//! The `#[netns_test]` attribute. Use it through the `netns-test` crate, which documents it.
//!
//! Kept thin: `args` reads the attribute (and validates the topology with the shared
//! `netns-test-topology` crate, so mistakes are compile errors), `stacked` (with `source`)
//! refuses other test attributes on the same function, `render` writes the test.

mod args;
mod file;
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
    let mut func = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    let args = args::Args::parse(attr.into());
    let result = match (args, stacked::stacked_test(&func, proc_macro2::Span::call_site())) {
        (Ok(a), None) => render::test(a, func.clone()),
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

fn with_item(err: proc_macro2::TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    quote::quote!(#err #item).into()
}
