//! Checked arguments + the user's function → a `#[test]` that runs it in its namespaces.

use crate::args::Args;
use crate::Func;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::FnArg;

pub(crate) fn test(args: Args, func: &Func) -> syn::Result<TokenStream> {
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

    let Args { topology, node, timeout_ms, krate, multi_thread, runtime_span, dns } = args;
    // A topology with a DNS server needs the runtime's `dns` feature: a compile error at the
    // topology (the trait's message says which feature) rather than a failure at run time.
    let dns_check = dns.map(|span| {
        quote_spanned! {span=>
            const _: () = #krate::__private::require_dns::<#krate::__private::Dns>();
        }
    });
    if let (Some(span), None) = (runtime_span, func.sig.asyncness) {
        return Err(syn::Error::new(span, "`flavor` and `worker_threads` are for `async fn` bodies"));
    }
    let mut attrs = func.attrs.clone();
    let should_panic = take_should_panic(&mut attrs, &krate)?;
    let vis = &func.vis;
    let name = &func.sig.ident;
    let body_name = format_ident!("__netns_test_body");
    let mut sig = func.sig.clone();
    sig.ident = body_name.clone();
    let body = &func.body;
    let path = Literal::string(&format!("::{name}"));
    let spec = quote! {
        &#krate::__private::Spec {
            path: ::core::concat!(::core::module_path!(), #path),
            topology: #topology,
            node: #node,
            timeout: ::core::time::Duration::from_millis(#timeout_ms),
            should_panic: #should_panic,
        }
    };

    // The runtime gets a plain `fn` pointer: nothing of it is instantiated per test, so each
    // attribute costs the compiler little more than the user's own function. A function that
    // takes `&Net` (or nothing) and returns `()` is handed over itself; the others through an
    // adapter to the runtime's outcome.
    let run = if is_unit_body(&func.sig) {
        // Type errors point at the user's parameter.
        let at = func.sig.inputs.first().map_or(name.span(), |arg| arg.span());
        let body_fn = Ident::new("__netns_test_body", Span::call_site().located_at(at));
        let run = if takes_net { quote!(run_unit) } else { quote!(run_unit_without_net) };
        quote!(#krate::__private::#run(#spec, #body_fn))
    } else {
        let call_args = if takes_net { quote!(__net) } else { quote!() };
        // Point type errors in the return value at the user's signature.
        let outcome = if func.sig.asyncness.is_some() {
            // Boxed, so the runtime's `block_on` is compiled once, not once per test.
            let into = quote_spanned! {func.sig.output.span()=>
                #krate::__private::IntoOutcome::into_outcome(#body_name(#call_args).await)
            };
            let fut = quote!(::std::boxed::Box::pin(async move { #into }));
            match multi_thread {
                None => quote!(#krate::__private::block_on_outcome(#fut)),
                Some(workers) => {
                    let flavor = quote!(#krate::__private::Flavor::MultiThread { workers: #workers });
                    quote!(#krate::__private::block_on_outcome_with(#flavor, #fut))
                }
            }
        } else {
            quote_spanned! {func.sig.output.span()=>
                #krate::__private::IntoOutcome::into_outcome(#body_name(#call_args))
            }
        };
        quote! {
            fn __netns_test_outcome(__net: &#krate::Net) -> ::core::result::Result<(), ::std::string::String> {
                #outcome
            }
            #krate::__private::run(#spec, __netns_test_outcome)
        }
    };
    Ok(quote! {
        #[test]
        #(#attrs)*
        #vis fn #name() {
            #dns_check
            #vis #sig #body
            #run
        }
    })
}

/// Whether the user's function can be handed to the runtime as it is, as a `fn(&Net)` or a
/// `fn()`: not async, not `unsafe`, not `extern`, returning `()`, taking nothing or a `&Net`
/// (anything else takes the adapter, whose type errors are the ones users have always seen).
fn is_unit_body(sig: &syn::Signature) -> bool {
    let plain = sig.asyncness.is_none() && sig.unsafety.is_none() && sig.abi.is_none();
    let net_ref = |arg: &FnArg| match arg {
        FnArg::Typed(t) => match &*t.ty {
            syn::Type::Reference(r) if r.lifetime.is_none() && r.mutability.is_none() => {
                matches!(&*r.elem, syn::Type::Path(p) if p.qself.is_none()
                    && p.path.segments.last().is_some_and(|s| s.ident == "Net" && s.arguments.is_none()))
            }
            _ => false,
        },
        FnArg::Receiver(_) => false,
    };
    plain && matches!(sig.output, syn::ReturnType::Default) && sig.inputs.iter().all(net_ref)
}

/// Removes `#[should_panic]` / `#[should_panic(expected = "..")]` / `#[should_panic = ".."]`
/// from the test's attributes and returns it as a `ShouldPanic` for the runtime, which alone can
/// tell the body's own panic from the framework's failures (a timeout, a killed child).
fn take_should_panic(attrs: &mut Vec<syn::Attribute>, krate: &syn::Path) -> syn::Result<TokenStream> {
    let path = quote!(#krate::__private::ShouldPanic);
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("should_panic")) {
        if found.is_some() {
            return Err(syn::Error::new_spanned(attr, "`#[should_panic]` given twice"));
        }
        found = Some(match &attr.meta {
            syn::Meta::Path(_) => quote!(#path::Yes),
            syn::Meta::NameValue(nv) => expected(&path, &nv.value, attr)?,
            syn::Meta::List(list) => {
                let nv: syn::MetaNameValue = list.parse_args().map_err(|_| bad_should_panic(attr))?;
                if !nv.path.is_ident("expected") {
                    return Err(bad_should_panic(attr));
                }
                expected(&path, &nv.value, attr)?
            }
        });
    }
    attrs.retain(|a| !a.path().is_ident("should_panic"));
    Ok(found.unwrap_or_else(|| quote!(#path::No)))
}

fn expected(path: &TokenStream, value: &syn::Expr, attr: &syn::Attribute) -> syn::Result<TokenStream> {
    match value {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Ok(quote!(#path::Expected(#s))),
        _ => Err(bad_should_panic(attr)),
    }
}

fn bad_should_panic(attr: &syn::Attribute) -> syn::Error {
    syn::Error::new_spanned(attr, "write `#[should_panic]` or `#[should_panic(expected = \"text\")]`")
}

#[cfg(test)]
mod tests {
    use super::take_should_panic;
    use quote::{quote, ToTokens};

    /// The `ShouldPanic` taken from `attrs` (as text), and the attributes left.
    fn take(attrs: proc_macro2::TokenStream) -> Result<(String, usize), String> {
        let func: syn::ItemFn = syn::parse2(quote!(#attrs fn f() {})).unwrap();
        let mut attrs = func.attrs;
        let krate: syn::Path = syn::parse_quote!(::netns_test);
        let taken = take_should_panic(&mut attrs, &krate).map_err(|e| e.to_string())?;
        Ok((taken.to_string().replace(' ', ""), attrs.len()))
    }

    #[test]
    fn every_spelling_of_should_panic_is_taken_over() {
        let expected = |text: &str| format!("::netns_test::__private::ShouldPanic::Expected(\"{text}\")");
        assert_eq!(take(quote!(#[ignore])), Ok(("::netns_test::__private::ShouldPanic::No".into(), 1)));
        assert_eq!(
            take(quote!(#[should_panic] #[ignore])),
            Ok(("::netns_test::__private::ShouldPanic::Yes".into(), 1))
        );
        assert_eq!(take(quote!(#[should_panic(expected = "a b")])), Ok((expected("ab"), 0)));
        assert_eq!(take(quote!(#[should_panic = "x"])), Ok((expected("x"), 0)));
    }

    /// A topology with a DNS server gets the compile-time check of the runtime's `dns`
    /// feature (an error naming the feature without it); one without, nothing.
    #[test]
    fn a_dns_topology_checks_the_dns_feature() {
        let func = crate::Func::parse(quote!(
            fn t() {}
        ))
        .unwrap();
        let render = |topology: &str| {
            let args = crate::args::Args::parse(quote!(topology = #topology)).unwrap();
            super::test(args, &func).unwrap().to_string()
        };
        assert!(render("a -- d; d [dns]").contains("__private :: require_dns :: < :: netns_test :: __private :: Dns >"));
        assert!(!render("a -- d").contains("require_dns"));
    }

    /// `#![..]` in the body stays there. (syn's `ItemFn` counted it among the function's
    /// attributes, and the test came out as `#[test] #![..] fn t()`, which does not compile.)
    #[test]
    fn inner_attributes_stay_in_the_body() {
        let func = crate::Func::parse(quote!(
            fn t() {
                #![allow(unused)]
                let x = 1;
            }
        ))
        .unwrap();
        let args = crate::args::Args::parse(quote!(topology = "a -- b")).unwrap();
        let test: syn::ItemFn = syn::parse2(super::test(args, &func).unwrap()).expect("one function");
        assert!(test.attrs.iter().all(|a| matches!(a.style, syn::AttrStyle::Outer)));
        assert!(test.to_token_stream().to_string().contains("{ # ! [allow (unused)] let x = 1 ; }"));
    }

    #[test]
    fn malformed_should_panic_is_an_error() {
        for attrs in [
            quote!(#[should_panic(reason = "x")]),
            quote!(#[should_panic(expected = 1)]),
            quote!(#[should_panic] #[should_panic]),
        ] {
            assert!(take(attrs).is_err());
        }
    }
}
