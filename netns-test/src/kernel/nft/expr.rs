//! nf_tables expressions, the instructions of a rule, and their netlink encoding.
//!
//! ```ignore
//! // `oifname "eth1" drop`
//! let rule = [Expr::meta(MetaKey::OifName, R0), Expr::eq(R0, &ifname("eth1")), Expr::Verdict(Verdict::Drop)];
//! ```
//!
//! Registers are the 32-bit ones (`NFT_REG32_00` = 8 ...): a value of N bytes occupies
//! ceil(N/4) consecutive registers, which is how concatenations (`ip saddr . udp sport`) are laid
//! out for sets and maps.

use super::wire::{Attrs, NFTA_DATA_VERDICT, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM, NFTA_VERDICT_CODE};

/// A 32-bit register (`NFT_REG32_00` + n); the verdict register is 0.
pub(crate) type Reg = u32;
pub(crate) const R0: Reg = 8;

/// The 32-bit register `n` (`R0` + n); there are 16.
pub(crate) const fn reg(n: u32) -> Reg {
    R0 + n
}
/// `NFT_REG_1`: the first 16-byte register, the same bytes as `R0`..`R3` (what `nft` emits).
#[cfg(test)]
pub(crate) const REG_1: Reg = 1;

/// `meta` keys (`enum nft_meta_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaKey {
    Mark = 3,
    #[cfg(test)]
    Oif = 5,
    IifName = 6,
    OifName = 7,
    NfProto = 15,
    L4Proto = 16,
}

/// `ct` keys (`enum nft_ct_keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CtKey {
    State = 0,
    /// 1 byte: 0 original, 1 reply (the packet's direction).
    Direction = 1,
    /// The port (or ICMP id) of a tuple's source, network order: needs a direction.
    ProtoSrc = 11,
    ProtoDst = 12,
    /// A tuple's IPv4 source address: needs a direction.
    SrcIp = 19,
    SrcIp6 = 21,
}

/// Which tuple of a connection a `ct` key reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CtDir {
    Original = 0,
    Reply = 1,
}

/// Where a payload load starts (`enum nft_payload_bases`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    Network = 1,
    Transport = 2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq = 0,
    Neq = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Drop,
    Accept,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NatKind {
    Snat = 0,
    Dnat = 1,
}

/// How `reject` answers (`enum nft_reject_types` with its code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reject {
    /// A TCP reset (the rule must match TCP only).
    TcpReset,
    /// ICMP or ICMPv6 "port unreachable", whichever the packet's family needs (`icmpx`).
    PortUnreachable,
}

/// `NF_NAT_RANGE_PROTO_RANDOM_FULLY`: a random port per new mapping.
pub(crate) const NAT_RANDOM_FULLY: u32 = 0x10;

/// One expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Meta {
        key: MetaKey,
        dreg: Reg,
    },
    MetaSet {
        key: MetaKey,
        sreg: Reg,
    },
    Cmp {
        sreg: Reg,
        op: CmpOp,
        data: Vec<u8>,
    },
    Payload {
        dreg: Reg,
        base: Base,
        offset: u32,
        len: u32,
    },
    /// `dreg = (sreg & mask) ^ xor`, over `mask.len()` bytes.
    Bitwise {
        sreg: Reg,
        dreg: Reg,
        mask: Vec<u8>,
        xor: Vec<u8>,
    },
    Ct {
        key: CtKey,
        dir: Option<CtDir>,
        dreg: Reg,
    },
    /// `numgen inc mod MODULUS offset OFFSET`: a counter of this expression's evaluations, as a
    /// host-order u32.
    NumgenInc {
        dreg: Reg,
        modulus: u32,
        offset: u32,
    },
    /// `dreg = hton(sreg)` over `len` bytes in units of `size` bytes.
    Hton {
        sreg: Reg,
        dreg: Reg,
        len: u32,
        size: u32,
    },
    /// `dreg = sreg << bits`, per host-order u32 over `len` bytes.
    Lshift {
        sreg: Reg,
        dreg: Reg,
        len: u32,
        bits: u32,
    },
    Immediate {
        dreg: Reg,
        data: Vec<u8>,
    },
    Verdict(Verdict),
    /// Looks the key in `sreg` up in `set`; with `dreg`, loads the mapped value (maps).
    Lookup {
        set: String,
        sreg: Reg,
        dreg: Option<Reg>,
    },
    /// Adds or refreshes an element of `set` from the packet path (`update @set { .. }`).
    Update {
        set: String,
        sreg_key: Reg,
        sreg_data: Option<Reg>,
        timeout_ms: u64,
    },
    Nat {
        kind: NatKind,
        v6: bool,
        addr: Reg,
        proto: Option<Reg>,
        flags: u32,
    },

    Reject(Reject),
    Counter,
    /// An xtables target through `nft_compat` (`name`, revision 0, its `struct` as bytes).
    XtTarget {
        name: &'static str,
        info: Vec<u8>,
    },
}

impl Expr {
    pub(crate) fn meta(key: MetaKey, dreg: Reg) -> Expr {
        Expr::Meta { key, dreg }
    }

    pub(crate) fn eq(sreg: Reg, data: &[u8]) -> Expr {
        Expr::Cmp { sreg, op: CmpOp::Eq, data: data.to_vec() }
    }

    pub(crate) fn neq(sreg: Reg, data: &[u8]) -> Expr {
        Expr::Cmp { sreg, op: CmpOp::Neq, data: data.to_vec() }
    }

    pub(crate) fn payload(base: Base, offset: u32, len: u32, dreg: Reg) -> Expr {
        Expr::Payload { dreg, base, offset, len }
    }

    /// The kernel's name of the expression type.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Expr::Meta { .. } | Expr::MetaSet { .. } => "meta",
            Expr::Cmp { .. } => "cmp",
            Expr::Payload { .. } => "payload",
            Expr::Bitwise { .. } | Expr::Lshift { .. } => "bitwise",
            Expr::Ct { .. } => "ct",
            Expr::NumgenInc { .. } => "numgen",
            Expr::Hton { .. } => "byteorder",

            Expr::Immediate { .. } | Expr::Verdict(_) => "immediate",
            Expr::Lookup { .. } => "lookup",
            Expr::Update { .. } => "dynset",
            Expr::Nat { .. } => "nat",
            Expr::Reject(_) => "reject",
            Expr::XtTarget { .. } => "target",
            Expr::Counter => "counter",
        }
    }

    /// The kernel option that provides this expression, for "the kernel lacks ..." errors.
    pub(crate) fn config(&self) -> &'static str {
        match self {
            Expr::Ct { .. } => "CONFIG_NFT_CT",
            Expr::Nat { .. } => "CONFIG_NFT_NAT",
            Expr::NumgenInc { .. } => "CONFIG_NFT_NUMGEN",

            Expr::Reject(_) => "CONFIG_NFT_REJECT",
            Expr::XtTarget { .. } => "CONFIG_NFT_COMPAT and CONFIG_IP6_NF_TARGET_NPT",
            _ => "CONFIG_NF_TABLES",
        }
    }

    /// `NFTA_LIST_ELEM { NFTA_EXPR_NAME, NFTA_EXPR_DATA { .. } }`.
    pub(crate) fn encode(&self, a: &mut Attrs) {
        a.nested(NFTA_LIST_ELEM, |e| {
            e.str(NFTA_EXPR_NAME, self.name());
            e.nested(NFTA_EXPR_DATA, |d| self.encode_data(d));
        });
    }

    fn encode_data(&self, d: &mut Attrs) {
        match self {
            // NFTA_META_KEY before NFTA_META_DREG, as nft sends it.
            Expr::Meta { key, dreg } => d.u32(2, *key as u32).u32(1, *dreg),
            Expr::MetaSet { key, sreg } => d.u32(2, *key as u32).u32(3, *sreg),
            Expr::Cmp { sreg, op, data } => d.u32(1, *sreg).u32(2, *op as u32).data(3, data),
            Expr::Payload { dreg, base, offset, len } => {
                d.u32(1, *dreg).u32(2, *base as u32).u32(3, *offset).u32(4, *len)
            }
            Expr::Bitwise { sreg, dreg, mask, xor } => {
                d.u32(1, *sreg).u32(2, *dreg).u32(3, mask.len() as u32).data(4, mask).data(5, xor)
            }
            Expr::Ct { key, dir, dreg } => {
                // NFTA_CT_KEY, NFTA_CT_DREG, NFTA_CT_DIRECTION
                d.u32(2, *key as u32).u32(1, *dreg);
                if let Some(dir) = dir {
                    d.u8(3, *dir as u8);
                }
                d
            }
            // NFTA_NG_DREG, _MODULUS, _TYPE (NFT_NG_INCREMENTAL), _OFFSET
            Expr::NumgenInc { dreg, modulus, offset } => d.u32(1, *dreg).u32(2, *modulus).u32(3, 0).u32(4, *offset),
            // NFTA_BYTEORDER_SREG, _DREG, _OP (NFT_BYTEORDER_HTON), _LEN, _SIZE
            Expr::Hton { sreg, dreg, len, size } => d.u32(1, *sreg).u32(2, *dreg).u32(3, 1).u32(4, *len).u32(5, *size),
            // NFTA_BITWISE_SREG, _DREG, _LEN, _OP (NFT_BITWISE_LSHIFT), _DATA (host order)
            Expr::Lshift { sreg, dreg, len, bits } => {
                d.u32(1, *sreg).u32(2, *dreg).u32(3, *len).u32(6, 1).data(7, &bits.to_ne_bytes())
            }

            Expr::Immediate { dreg, data } => d.u32(1, *dreg).data(2, data),
            Expr::Verdict(v) => {
                let code: i32 = match v {
                    Verdict::Drop => 0,
                    Verdict::Accept => 1,
                };
                d.u32(1, 0).nested(2, |data| {
                    data.nested(NFTA_DATA_VERDICT, |v| {
                        v.u32(NFTA_VERDICT_CODE, code as u32);
                    });
                })
            }
            Expr::Lookup { set, sreg, dreg } => {
                d.str(1, set).u32(2, *sreg);
                if let Some(r) = dreg {
                    d.u32(3, *r);
                }
                d
            }
            Expr::Update { set, sreg_key, sreg_data, timeout_ms } => {
                // NFTA_DYNSET_SET_NAME, _OP (NFT_DYNSET_OP_UPDATE), _SREG_KEY, _SREG_DATA, _TIMEOUT
                d.str(1, set).u32(3, 1).u32(4, *sreg_key);
                if let Some(r) = sreg_data {
                    d.u32(5, *r);
                }
                d.u64(6, *timeout_ms)
            }
            Expr::Nat { kind, v6, addr, proto, flags } => {
                // NFTA_NAT_TYPE, _FAMILY (NFPROTO_IPV4 or _IPV6), _REG_ADDR_MIN, _REG_PROTO_MIN, _FLAGS
                d.u32(1, *kind as u32).u32(2, if *v6 { 10 } else { 2 }).u32(3, *addr);
                if let Some(p) = proto {
                    d.u32(5, *p);
                }
                if *flags != 0 {
                    d.u32(7, *flags);
                }
                d
            }
            // NFTA_REJECT_TYPE, _ICMP_CODE
            Expr::Reject(Reject::TcpReset) => d.u32(1, 1).u8(2, 0),
            Expr::Reject(Reject::PortUnreachable) => d.u32(1, 2).u8(2, 1),
            Expr::Counter => d,
            // NFTA_TARGET_NAME, _REV, _INFO
            Expr::XtTarget { name, info } => d.str(1, name).u32(2, 0).bytes(3, info),
        };
    }
}

/// An interface name as `meta iifname`/`oifname` loads it: 16 bytes, NUL-padded.
pub(crate) fn ifname(name: &str) -> [u8; 16] {
    let mut b = [0; 16];
    b[..name.len().min(15)].copy_from_slice(&name.as_bytes()[..name.len().min(15)]);
    b
}
