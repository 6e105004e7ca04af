//! The `#[netns_test]` attribute. Use it through the `netns-test` crate, which documents it.
//!
//! Kept thin: [`args`] reads the attribute (and validates the topology with the shared
//! `netns-test-topology` crate, so mistakes are compile errors), [`render`] writes the test.

mod args;
mod render;

use proc_macro::TokenStream;

/// Runs the test in fresh network namespaces built from `topology`.
///
/// ```ignore
/// #[netns_test(topology = "a=10.0.0.1/24 -- b=10.0.0.2/24", node = "b", timeout = "10s")]
/// fn my_test(net: &netns_test::Net) { /* runs in node b */ }
/// ```
#[proc_macro_attribute]
pub fn netns_test(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match syn::parse::<syn::ItemFn>(item.clone()) {
        Ok(f) => f,
        Err(e) => return with_item(e.to_compile_error(), item),
    };
    match args::Args::parse(attr.into()).and_then(|a| render::test(a, func.clone())) {
        Ok(tokens) => tokens.into(),
        // Keep the function, so its body still type-checks and its imports count as used, but
        // never as a test: nothing can pass while the attribute is wrong.
        Err(e) => {
            let err = e.to_compile_error();
            quote::quote!(#err #[allow(dead_code)] #func).into()
        }
    }
}

fn with_item(err: proc_macro2::TokenStream, item: TokenStream) -> TokenStream {
    let item: proc_macro2::TokenStream = item.into();
    quote::quote!(#err #item).into()
}
