//! Test attributes stacked with ours, which would register the test a second time or run it
//! outside its namespaces: one clear error, whatever the order and however they are spelled.
//!
//! - Below ours, they are in the function's attributes: `#[test]`, `#[core::prelude::v1::test]`,
//!   `#[tokio::test]`, `#[async_std::test]`, ...
//! - Above ours, they expanded first. tokio leaves `#[::core::prelude::v1::test]` and its runtime
//!   in the body; async-std leaves `#[test]` and its `block_on`; both are in the tokens we get.
//!   The built-in `#[test]` leaves nothing: it is found in the source file ([`crate::source`]).

use crate::Func;
use proc_macro2::Span;
use syn::Attribute;

/// The error for a test attribute stacked with `#[netns_test]` (at `call_site`), if any.
pub(crate) fn stacked_test(func: &Func, call_site: Span) -> Option<syn::Error> {
    let Some(attr) = func.attrs.iter().find(|a| is_test_attr(a)) else {
        let above = crate::source::attrs_above(call_site)?;
        let written = above.iter().find(|a| is_test_attr(a))?;
        let path = path_of(written);
        return Some(syn::Error::new(
            call_site,
            format!(
                "remove the `#[{}]` above `#[netns_test]`: `#[netns_test]` already makes this a test{}",
                path.join("::"),
                also(&path)
            ),
        ));
    };
    let path = path_of(attr);
    // Spaces between tokens depend on where they came from: compared without them.
    let body: String = func.body.to_string().split_whitespace().collect();
    let written = match builtin(&path) {
        // What tokio's expansion looks like: `#[::core::prelude::v1::test]`, and its runtime.
        Some(true) if body.contains("runtime::Builder") => vec!["tokio".into(), "test".into()],
        // async-std's: `#[test]`, and the body wrapped in its `block_on`.
        Some(false) if body.starts_with("{async_std::task::block_on") => vec!["async_std".into(), "test".into()],
        Some(_) => vec!["test".into()],
        None => path,
    };
    Some(syn::Error::new_spanned(
        attr,
        format!("remove `#[{}]`: `#[netns_test]` already makes this a test{}", written.join("::"), also(&written)),
    ))
}

/// Whether `attr` makes a test: its path ends in `test` (`test`, `core::prelude::v1::test`,
/// `tokio::test`, `async_std::test`, ...).
pub(crate) fn is_test_attr(attr: &Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "test")
}

fn path_of(attr: &Attribute) -> Vec<String> {
    attr.path().segments.iter().map(|s| s.ident.to_string()).collect()
}

/// Whether `path` is the built-in `#[test]`: `Some(false)` written `test`, `Some(true)` by its
/// full path (`core::prelude::v1::test`, `std::prelude::rust_2021::test`, ...), as macros write it.
fn builtin(path: &[String]) -> Option<bool> {
    match path {
        [t] if t == "test" => Some(false),
        [krate, prelude, _, t] if matches!(krate.as_str(), "core" | "std") && prelude == "prelude" && t == "test" => {
            Some(true)
        }
        _ => None,
    }
}

/// What else to say for an async runtime's test attribute.
fn also(path: &[String]) -> &'static str {
    if builtin(path).is_some() {
        ""
    } else {
        " and runs `async fn` bodies itself, inside the node"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn message(item: proc_macro2::TokenStream) -> Option<String> {
        let func = Func::parse(item).unwrap();
        stacked_test(&func, Span::call_site()).map(|e| e.to_string())
    }

    #[test]
    fn test_however_spelled() {
        for attr in [quote!(#[test]), quote!(#[core::prelude::v1::test]), quote!(#[::std::prelude::rust_2021::test])] {
            let m = message(quote!(#attr fn t() {})).unwrap();
            assert_eq!(m, "remove `#[test]`: `#[netns_test]` already makes this a test");
        }
    }

    #[test]
    fn runtimes_below_ours() {
        let m = message(quote!(
            #[tokio::test]
            async fn t() {}
        ))
        .unwrap();
        assert!(m.starts_with("remove `#[tokio::test]`") && m.contains("runs `async fn` bodies"), "{m}");
        let m = message(quote!(
            #[async_std::test]
            async fn t() {}
        ))
        .unwrap();
        assert!(m.starts_with("remove `#[async_std::test]`"), "{m}");
    }

    /// What reaches us when the runtime's attribute was above ours: its expansion.
    #[test]
    fn runtimes_above_ours() {
        // tokio-macros 2.x
        let tokio = quote! {
            #[::core::prelude::v1::test]
            fn t() {
                let body = async {};
                tokio::pin!(body);
                {
                    use tokio::runtime::Builder;
                    return Builder::new_current_thread().enable_all().build().expect("x").block_on(body);
                }
            }
        };
        assert!(message(tokio).unwrap().starts_with("remove `#[tokio::test]`"));
        // async-attributes 1.x, behind async_std::test
        let async_std = quote! {
            #[test]
            fn t() {
                async_std::task::block_on(async { {} })
            }
        };
        assert!(message(async_std).unwrap().starts_with("remove `#[async_std::test]`"));
    }

    #[test]
    fn other_attributes_are_fine() {
        assert_eq!(
            message(quote!(
                #[ignore]
                #[should_panic]
                #[cfg_attr(test, allow(unused))]
                fn t() {}
            )),
            None
        );
        assert_eq!(
            message(quote!(
                #[tested]
                fn t() {}
            )),
            None
        );
    }
}
