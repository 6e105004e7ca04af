//! Checked arguments + the user's function → a `#[test]` that runs it in its namespaces.

use crate::args::Args;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn};

pub(crate) fn test(args: Args, mut func: ItemFn) -> syn::Result<TokenStream> {
    if let Some(a) = func.attrs.iter().find(|a| a.path().is_ident("test")) {
        return Err(syn::Error::new_spanned(a, "remove `#[test]`: `#[netns_test]` already makes this a test"));
    }
    if !func.sig.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(&func.sig.generics, "a netns test cannot be generic"));
    }
    let takes_net = match func.sig.inputs.len() {
        0 => false,
        1 if matches!(func.sig.inputs[0], FnArg::Typed(_)) => true,
        _ => {
            let extra = func.sig.inputs.iter().nth(1).unwrap_or(&func.sig.inputs[0]);
            return Err(syn::Error::new_spanned(
                extra,
                "a netns test takes no argument or one, `net: &netns_test::Net`",
            ));
        }
    };

    let Args { topology, node, timeout_ms } = args;
    let attrs = std::mem::take(&mut func.attrs);
    let vis = &func.vis;
    let name = func.sig.ident.clone();
    let body_name = format_ident!("__netns_test_body");
    func.sig.ident = body_name.clone();
    let call_args = if takes_net { quote!(__net) } else { quote!() };
    let call = if func.sig.asyncness.is_some() {
        quote!(::netns_test::__private::block_on(#body_name(#call_args)))
    } else {
        quote!(#body_name(#call_args))
    };
    // Point type errors in the return value at the user's signature.
    let outcome = quote_spanned! {func.sig.output.span()=>
        ::netns_test::__private::IntoOutcome::into_outcome(#call)
    };

    Ok(quote! {
        #[test]
        #(#attrs)*
        #vis fn #name() {
            #func
            ::netns_test::__private::run(
                &::netns_test::__private::Spec {
                    path: ::core::concat!(::core::module_path!(), "::", ::core::stringify!(#name)),
                    topology: #topology,
                    node: #node,
                    timeout: ::core::time::Duration::from_millis(#timeout_ms),
                },
                |__net: &::netns_test::Net| #outcome,
            )
        }
    })
}
