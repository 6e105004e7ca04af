//! Netlink framing for nf_tables: attributes, messages and the batch that wraps them.
//!
//! ```ignore
//! let mut b = Batch::new();
//! b.push(NFT_MSG_NEWTABLE, NFPROTO_IPV4, FLAGS_CREATE, "adding table", |a| {
//!     a.str(NFTA_TABLE_NAME, "nat").u32(NFTA_TABLE_FLAGS, 0);
//! });
//! let bytes = b.finish();
//! ```
//!
//! Numbers are the kernel's `include/uapi/linux/netfilter/nf_tables.h`, `nfnetlink.h` and
//! `netlink.h`. Attribute headers are in host order, attribute values in network order (as
//! nf_tables wants), except where a value is a raw register image (then it is passed as bytes).

// Netlink message flags.
pub(crate) const NLM_F_REQUEST: u16 = 0x1;
pub(crate) const NLM_F_ACK: u16 = 0x4;
pub(crate) const NLM_F_CREATE: u16 = 0x400;
pub(crate) const NLM_F_APPEND: u16 = 0x800;
pub(crate) const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;

// nfnetlink.
pub(crate) const NFNL_SUBSYS_NFTABLES: u16 = 10;
pub(crate) const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
pub(crate) const NFNL_MSG_BATCH_END: u16 = 0x11;

// nf_tables message types.
pub(crate) const NFT_MSG_NEWTABLE: u16 = 0;
pub(crate) const NFT_MSG_DELTABLE: u16 = 2;
pub(crate) const NFT_MSG_DELRULE: u16 = 8;
pub(crate) const NFT_MSG_NEWCHAIN: u16 = 3;
pub(crate) const NFT_MSG_NEWRULE: u16 = 6;
pub(crate) const NFT_MSG_NEWSET: u16 = 9;
pub(crate) const NFT_MSG_NEWSETELEM: u16 = 12;
pub(crate) const NFT_MSG_DELSETELEM: u16 = 14;

// Families.
pub(crate) const NFPROTO_UNSPEC: u8 = 0;
pub(crate) const NFPROTO_INET: u8 = 1;
pub(crate) const NFPROTO_IPV4: u8 = 2;
pub(crate) const NFPROTO_IPV6: u8 = 10;

// Table, chain, hook, rule, list, expression attributes.
pub(crate) const NFTA_TABLE_NAME: u16 = 1;
pub(crate) const NFTA_TABLE_FLAGS: u16 = 2;
pub(crate) const NFTA_CHAIN_TABLE: u16 = 1;
pub(crate) const NFTA_CHAIN_NAME: u16 = 3;
pub(crate) const NFTA_CHAIN_HOOK: u16 = 4;
pub(crate) const NFTA_CHAIN_POLICY: u16 = 5;
pub(crate) const NFTA_CHAIN_TYPE: u16 = 7;
pub(crate) const NFTA_HOOK_HOOKNUM: u16 = 1;
pub(crate) const NFTA_HOOK_PRIORITY: u16 = 2;
pub(crate) const NFTA_RULE_TABLE: u16 = 1;
pub(crate) const NFTA_RULE_CHAIN: u16 = 2;
pub(crate) const NFTA_RULE_EXPRESSIONS: u16 = 4;
pub(crate) const NFTA_LIST_ELEM: u16 = 1;
pub(crate) const NFTA_EXPR_NAME: u16 = 1;
pub(crate) const NFTA_EXPR_DATA: u16 = 2;

// Sets.
pub(crate) const NFTA_SET_TABLE: u16 = 1;
pub(crate) const NFTA_SET_NAME: u16 = 2;
pub(crate) const NFTA_SET_FLAGS: u16 = 3;
pub(crate) const NFTA_SET_KEY_TYPE: u16 = 4;
pub(crate) const NFTA_SET_KEY_LEN: u16 = 5;
pub(crate) const NFTA_SET_DATA_TYPE: u16 = 6;
pub(crate) const NFTA_SET_DATA_LEN: u16 = 7;
pub(crate) const NFTA_SET_ID: u16 = 10;
pub(crate) const NFTA_SET_TIMEOUT: u16 = 11;
pub(crate) const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
pub(crate) const NFTA_SET_ELEM_LIST_SET: u16 = 2;
pub(crate) const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
pub(crate) const NFTA_SET_ELEM_KEY: u16 = 1;
pub(crate) const NFTA_SET_ELEM_DATA: u16 = 2;
pub(crate) const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
pub(crate) const NFT_SET_MAP: u32 = 0x8;
pub(crate) const NFT_SET_TIMEOUT: u32 = 0x10;
pub(crate) const NFT_SET_EVAL: u32 = 0x20;

// Data.
pub(crate) const NFTA_DATA_VALUE: u16 = 1;
pub(crate) const NFTA_DATA_VERDICT: u16 = 2;
pub(crate) const NFTA_VERDICT_CODE: u16 = 1;

/// Attributes being written: `nla_len`/`nla_type` headers, each value padded to 4 bytes.
#[derive(Default)]
pub(crate) struct Attrs(Vec<u8>);

impl Attrs {
    pub(crate) fn bytes(&mut self, ty: u16, value: &[u8]) -> &mut Self {
        let len = 4 + value.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(value);
        self.pad();
        self
    }

    /// A NUL-terminated string.
    pub(crate) fn str(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        self.bytes(ty, &v)
    }

    pub(crate) fn u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.bytes(ty, &[v])
    }

    /// A 32-bit value in network order.
    pub(crate) fn u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.bytes(ty, &v.to_be_bytes())
    }

    /// A 64-bit value in network order.
    pub(crate) fn u64(&mut self, ty: u16, v: u64) -> &mut Self {
        self.bytes(ty, &v.to_be_bytes())
    }

    /// A nested attribute whose contents `f` writes.
    pub(crate) fn nested(&mut self, ty: u16, f: impl FnOnce(&mut Attrs)) -> &mut Self {
        let start = self.0.len();
        self.0.extend_from_slice(&[0; 4]);
        let mut inner = Attrs(std::mem::take(&mut self.0));
        f(&mut inner);
        self.0 = inner.0;
        let len = (self.0.len() - start) as u16;
        self.0[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self.0[start + 2..start + 4].copy_from_slice(&(ty | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// `NFTA_DATA_VALUE` inside a nested `ty`: how nf_tables carries constants.
    pub(crate) fn data(&mut self, ty: u16, value: &[u8]) -> &mut Self {
        self.nested(ty, |a| {
            a.bytes(NFTA_DATA_VALUE, value);
        })
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }
}

/// Messages of one nf_tables transaction, between `BATCH_BEGIN` and `BATCH_END`: the kernel
/// applies all of them or none.
pub(crate) struct Batch {
    buf: Vec<u8>,
    /// `(sequence number, what the message does)` of each message that asks for an ACK.
    pub(crate) acked: Vec<(u32, String)>,
    seq: u32,
}

/// Flags for a message that deletes something.
pub(crate) const FLAGS_ACK: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Flags for a message that creates something.
pub(crate) const FLAGS_CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
/// Flags for a message that deletes something.
pub(crate) const FLAGS_DELETE: u16 = NLM_F_REQUEST | NLM_F_ACK;
/// Flags for a rule appended to its chain.
pub(crate) const FLAGS_APPEND: u16 = FLAGS_CREATE | NLM_F_APPEND;

impl Batch {
    pub(crate) fn new() -> Batch {
        let mut b = Batch { buf: Vec::new(), acked: Vec::new(), seq: 0 };
        b.raw(NFNL_MSG_BATCH_BEGIN, NFPROTO_UNSPEC, NLM_F_REQUEST, NFNL_SUBSYS_NFTABLES, &[]);
        b
    }

    /// Appends an nf_tables message of type `msg` (e.g. [`NFT_MSG_NEWRULE`]); `what` names it in
    /// errors.
    pub(crate) fn push(
        &mut self,
        msg: u16,
        family: u8,
        flags: u16,
        what: impl Into<String>,
        f: impl FnOnce(&mut Attrs),
    ) {
        let mut a = Attrs::default();
        f(&mut a);
        let seq = self.raw((NFNL_SUBSYS_NFTABLES << 8) | msg, family, flags, 0, &a.0);
        if flags & NLM_F_ACK != 0 {
            self.acked.push((seq, what.into()));
        }
    }

    pub(crate) fn finish(mut self) -> (Vec<u8>, Vec<(u32, String)>) {
        self.raw(NFNL_MSG_BATCH_END, NFPROTO_UNSPEC, NLM_F_REQUEST, NFNL_SUBSYS_NFTABLES, &[]);
        (self.buf, self.acked)
    }

    /// `nlmsghdr` + `nfgenmsg` + attributes; returns the sequence number.
    fn raw(&mut self, ty: u16, family: u8, flags: u16, res_id: u16, attrs: &[u8]) -> u32 {
        let seq = self.seq;
        self.seq += 1;
        let len = (16 + 4 + attrs.len()) as u32;
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&seq.to_ne_bytes());
        self.buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        self.buf.extend_from_slice(&[family, 0]);
        self.buf.extend_from_slice(&res_id.to_be_bytes());
        self.buf.extend_from_slice(attrs);
        seq
    }
}

/// The messages of `buf`: `(type, flags, seq, nfgenmsg + attributes)`; for tests and replies.
pub(crate) fn messages(mut buf: &[u8]) -> Vec<(u16, u16, u32, &[u8])> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes(buf[0..4].try_into().unwrap()) as usize;
        if len < 16 || len > buf.len() {
            break;
        }
        let ty = u16::from_ne_bytes([buf[4], buf[5]]);
        let flags = u16::from_ne_bytes([buf[6], buf[7]]);
        let seq = u32::from_ne_bytes(buf[8..12].try_into().unwrap());
        out.push((ty, flags, seq, &buf[16..len]));
        buf = &buf[((len + 3) & !3).min(buf.len())..];
    }
    out
}
