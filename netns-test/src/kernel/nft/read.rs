//! Reading nf_tables state back: a set's elements.

use super::ruleset::Family;
use super::wire::{
    Attrs, NFNL_SUBSYS_NFTABLES, NFTA_SET_ELEM_LIST_ELEMENTS, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_TABLE,
};
use crate::kernel::nfnl::{attrs, NfSocket};
use std::io;

const NFT_MSG_GETSETELEM: u16 = 13;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_SET_ELEM_EXPIRATION: u16 = 5;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_LIST_ELEM: u16 = 1;

/// One element: its key, its data (maps), and the milliseconds until it expires (0: never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) key: Vec<u8>,
    pub(crate) data: Option<Vec<u8>>,
    pub(crate) expires_in_ms: u64,
}

/// The live elements of set `set` of table `table` in the namespace of `socket` (expired ones
/// are left out by the kernel).
pub(crate) fn elements(socket: &NfSocket, family: Family, table: &str, set: &str) -> io::Result<Vec<Element>> {
    let mut a = Attrs::default();
    a.str(NFTA_SET_ELEM_LIST_TABLE, table).str(NFTA_SET_ELEM_LIST_SET, set);
    let answers = socket
        .dump((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETSETELEM, family.nfproto(), a.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("reading set @{set} of table {table}: {e}")))?;
    let mut out = Vec::new();
    for answer in &answers {
        for (ty, list) in attrs(answer) {
            if ty != NFTA_SET_ELEM_LIST_ELEMENTS {
                continue;
            }
            for (ty, elem) in attrs(list) {
                if ty == NFTA_LIST_ELEM {
                    out.extend(element(elem));
                }
            }
        }
    }
    Ok(out)
}

fn element(buf: &[u8]) -> Option<Element> {
    let value = |v: &[u8]| attrs(v).into_iter().find(|(t, _)| *t == NFTA_DATA_VALUE).map(|(_, v)| v.to_vec());
    let mut e = Element { key: Vec::new(), data: None, expires_in_ms: 0 };
    for (ty, v) in attrs(buf) {
        match ty {
            NFTA_SET_ELEM_KEY => e.key = value(v)?,
            NFTA_SET_ELEM_DATA => e.data = value(v),
            NFTA_SET_ELEM_EXPIRATION => e.expires_in_ms = u64::from_be_bytes(v.get(..8)?.try_into().ok()?),
            _ => {}
        }
    }
    (!e.key.is_empty()).then_some(e)
}
