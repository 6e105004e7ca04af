//! `topology_file = "tests/topologies/x.topo"`: a topology read from a file at compile time.
//!
//! ```ignore
//! let file = file::read(&lit)?;                 // relative to CARGO_MANIFEST_DIR
//! let topology = Topology::parse(&file.src).map_err(|e| file::errors(&lit, &file, &e))?;
//! let expr = file.include();                    // `include_str!("/abs/x.topo")`: cargo tracks it
//! ```
//!
//! Errors point at the path literal in the attribute (the compiler cannot point into another
//! file) and name the file, line and column of each mistake.

use crate::lit::Str;
use netns_test_topology::Errors;
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};
use std::path::{Path, PathBuf};
use syn::LitStr;

/// A topology file, read.
pub(crate) struct TopologyFile {
    /// The path as written in the attribute.
    pub written: String,
    /// The path the compiler reads, absolute.
    pub path: PathBuf,
    pub src: String,
}

impl TopologyFile {
    /// `include_str!` of the file: the topology text at run time, and the dependency that makes
    /// cargo rebuild the test when the file changes (proc macros cannot declare one themselves
    /// on stable Rust).
    pub(crate) fn include(&self) -> TokenStream {
        let path = self.path.to_string_lossy();
        quote!(::core::include_str!(#path))
    }
}

/// Reads the file named by `lit`, relative to the crate's `CARGO_MANIFEST_DIR`.
pub(crate) fn read(lit: &LitStr) -> syn::Result<TopologyFile> {
    let written = lit.value();
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or_else(|| syn::Error::new(lit.span(), "`topology_file` needs cargo (CARGO_MANIFEST_DIR is not set)"))?;
    let path = Path::new(&root).join(&written);
    match std::fs::read_to_string(&path) {
        Ok(src) => Ok(TopologyFile { written, path, src }),
        Err(e) => Err(syn::Error::new(
            lit.span(),
            format!(
                "cannot read topology file `{written}`: {}; the path is relative to the crate's directory (where \
                 its Cargo.toml is)",
                io_reason(&e)
            ),
        )),
    }
}

/// The error without its OS error number, which varies by platform.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "it is a directory".into(),
        std::io::ErrorKind::InvalidData => "it is not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// One compile error per mistake in the file, each at the path literal:
/// ``invalid topology in tests/x.topo:2:4: unknown option `foward` ``, with the quoted line.
pub(crate) fn errors(lit: &LitStr, file: &TopologyFile, errs: &Errors) -> syn::Error {
    let mut all = errs
        .0
        .iter()
        .map(|e| syn::Error::new(lit.span(), format!("invalid topology in {}:{}", file.written, e.render(&file.src))));
    let mut first = all.next().expect("at least one error");
    all.for_each(|e| first.combine(e));
    first
}

/// Where a test's topology comes from: the attribute's string, or a file.
pub(crate) enum Source {
    Inline(Str),
    File(LitStr, TopologyFile),
}

impl Source {
    /// `topology = ".."` or `topology_file = ".."`: exactly one. Errors are pushed to `errors`.
    pub(crate) fn pick(inline: Option<Str>, file: Option<LitStr>, errors: &mut Vec<syn::Error>) -> Option<Source> {
        match (inline, file) {
            (Some(_), Some(f)) => {
                errors
                    .push(syn::Error::new(f.span(), "give `topology = \"..\"` or `topology_file = \"..\"`, not both"));
                None
            }
            (Some(lit), None) => Some(Source::Inline(lit)),
            (None, Some(lit)) => match read(&lit) {
                Ok(file) => Some(Source::File(lit, file)),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            (None, None) => None,
        }
    }

    /// The topology text.
    /// Where the topology was given: the literal or the file's name.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        match self {
            Source::Inline(s) => s.span(),
            Source::File(lit, _) => lit.span(),
        }
    }

    pub(crate) fn text(&self) -> &str {
        match self {
            Source::Inline(lit) => &lit.value,
            Source::File(_, file) => &file.src,
        }
    }

    /// The `&'static str` expression the test's `Spec` gets.
    pub(crate) fn expr(&self) -> TokenStream {
        match self {
            Source::Inline(lit) => lit.token.to_token_stream(),
            Source::File(_, file) => file.include(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(path: &str) -> LitStr {
        syn::parse_str(&format!("{path:?}")).unwrap()
    }

    #[test]
    fn reads_relative_to_the_crate_and_includes_the_absolute_path() {
        let file = read(&lit("tests/topologies/bad.topo")).unwrap();
        assert!(file.path.is_absolute() && file.src.contains("foward"));
        let include = file.include().to_string();
        assert!(
            include.contains("include_str")
                && include.contains(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/topologies/bad.topo")),
            "{include}"
        );
    }

    #[test]
    fn every_mistake_names_the_file_line_and_column() {
        let l = lit("tests/topologies/bad.topo");
        let file = read(&l).unwrap();
        let errs = netns_test_topology::Topology::parse(&file.src).unwrap_err();
        let msgs: Vec<String> = errors(&l, &file, &errs).into_iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), 2, "{msgs:#?}");
        assert!(
            msgs[0].starts_with("invalid topology in tests/topologies/bad.topo:3:4: unknown option `foward`"),
            "{}",
            msgs[0]
        );
        assert!(msgs[0].contains("help: did you mean `forward`?"), "{}", msgs[0]);
        assert!(
            msgs[1].starts_with("invalid topology in tests/topologies/bad.topo:4:3: address `10.0.0.1` is used twice"),
            "{}",
            msgs[1]
        );
    }

    #[test]
    fn a_missing_file_says_where_paths_start() {
        let err = read(&lit("tests/topologies/nope.topo")).err().unwrap().to_string();
        assert_eq!(
            err,
            "cannot read topology file `tests/topologies/nope.topo`: no such file; the path is relative to the \
             crate's directory (where its Cargo.toml is)"
        );
    }
}
