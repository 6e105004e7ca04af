//! The sandbox's kernel side, shared by the harness (`process/`) and programs with their own
//! `main`: entering namespaces with mapped ids (`idmap`), the steps that can fail (`step`),
//! why one failed and how to fix it (`diagnose`), and [`isolate`] / the checks built on them.
//!
//! ```ignore
//! sandbox::check_isolated()?; // before building anything: only in namespaces we made
//! ```

pub(crate) mod diagnose;
pub(crate) mod idmap;
mod isolate;
pub(crate) mod step;

pub use isolate::isolate;
pub(crate) use isolate::{check_isolated, mark_isolated, probe};
