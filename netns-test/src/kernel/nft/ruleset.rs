//! A node's nf_tables ruleset as data: tables of sets and chains of rules, each rule with the
//! `nft`-style text it stands for. Encoded into one batch; rendered as text for failure dumps.
//!
//! ```ignore
//! let mut t = Table::new(Family::Inet, "netns_test_fw");
//! t.chain("forward", Hook::Forward, 0, ChainType::Filter)
//!     .rule("meta l4proto udp drop", vec![Expr::meta(MetaKey::L4Proto, R0), Expr::eq(R0, &[17]), drop()]);
//! let rules = Ruleset { tables: vec![t] };
//! ```

use super::expr::Expr;
use super::wire::*;

/// Everything installed in one node; or, at run time, a change to it: tables deleted (if they
/// exist) and sets emptied before the tables are created, all in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ruleset {
    pub(crate) tables: Vec<Table>,
    /// Tables to delete first, whether or not they exist.
    pub(crate) delete: Vec<(Family, String)>,
    /// Sets to empty: (family, table, set).
    pub(crate) flush: Vec<(Family, String, String)>,
    /// Elements to add, once the tables exist.
    pub(crate) elements: Vec<Elements>,
}

/// Elements for one set of one of the ruleset's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Elements {
    pub(crate) family: Family,
    pub(crate) table: String,
    pub(crate) set: String,
    /// `(key, data for a map, timeout in ms)`, keys and data as register images (each field of
    /// a concatenation padded to 4 bytes).
    pub(crate) elems: Vec<(Vec<u8>, Option<Vec<u8>>, u64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 only (`table ip`).
    Ip,
    /// IPv6 only (`table ip6`).
    Ip6,
    /// IPv4 and IPv6 (`table inet`).
    Inet,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Table {
    pub(crate) family: Family,
    pub(crate) name: String,
    pub(crate) sets: Vec<Set>,
    pub(crate) chains: Vec<Chain>,
    /// Replace the rules of a table of the same name, if the namespace has one, in the same
    /// transaction: table and chains are created if missing (else kept, with their hooks), each
    /// chain is flushed, then given its rules (`add table; add chain; flush chain; add rule ...`).
    /// Not deleting the table spares the kernel unhooking and rehooking its chains.
    pub(crate) replace: bool,
}

/// A set, or a map when it has `data`; elements are added from the packet path only, and
/// expire `timeout_ms` after their last update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Set {
    pub(crate) name: String,
    /// The `nft` type names, for rendering: `"ipv4_addr . ipv4_addr"`.
    pub(crate) key: &'static str,
    pub(crate) key_len: u32,
    /// `(type name, length)` of a map's values.
    pub(crate) data: Option<(&'static str, u32)>,
    pub(crate) timeout_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hook {
    Prerouting = 0,
    Input = 1,
    Forward = 2,
    Output = 3,
    Postrouting = 4,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainType {
    Filter,
    Nat,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chain {
    pub(crate) name: String,
    pub(crate) hook: Hook,
    pub(crate) priority: i32,
    pub(crate) kind: ChainType,
    pub(crate) rules: Vec<Rule>,
}

/// A rule: its expressions, and the `nft` syntax it corresponds to (for errors and dumps).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rule {
    pub(crate) text: String,
    pub(crate) exprs: Vec<Expr>,
}

impl Table {
    pub(crate) fn new(family: Family, name: &str) -> Table {
        Table { family, name: name.into(), sets: Vec::new(), chains: Vec::new(), replace: false }
    }

    /// Adds a base chain (policy accept) and returns it for its rules.
    pub(crate) fn chain(&mut self, name: &str, hook: Hook, priority: i32, kind: ChainType) -> &mut Chain {
        self.chains.push(Chain { name: name.into(), hook, priority, kind, rules: Vec::new() });
        self.chains.last_mut().unwrap()
    }
}

impl Chain {
    pub(crate) fn rule(&mut self, text: impl Into<String>, exprs: Vec<Expr>) -> &mut Chain {
        self.rules.push(Rule { text: text.into(), exprs });
        self
    }
}

impl Family {
    pub(crate) fn nfproto(self) -> u8 {
        match self {
            Family::Ip => NFPROTO_IPV4,
            Family::Ip6 => NFPROTO_IPV6,
            Family::Inet => NFPROTO_INET,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Family::Ip => "ip",
            Family::Ip6 => "ip6",
            Family::Inet => "inet",
        }
    }
}

impl Hook {
    fn keyword(self) -> &'static str {
        match self {
            Hook::Prerouting => "prerouting",
            Hook::Input => "input",
            Hook::Forward => "forward",
            Hook::Output => "output",
            Hook::Postrouting => "postrouting",
        }
    }
}

impl ChainType {
    fn keyword(self) -> &'static str {
        match self {
            ChainType::Filter => "filter",
            ChainType::Nat => "nat",
        }
    }
}

impl Ruleset {
    /// One batch creating every table, set, chain and rule.
    pub(crate) fn encode(&self) -> (Vec<u8>, Vec<(u32, String)>) {
        let mut b = Batch::new();
        for (family, name) in &self.delete {
            let (fam, tname) = (family.nfproto(), format!("table {} {name}", family.keyword()));
            // Created first (if absent), so that deleting it cannot fail.
            b.push(NFT_MSG_NEWTABLE, fam, FLAGS_CREATE, format!("creating {tname} to replace it"), |a| {
                a.str(NFTA_TABLE_NAME, name).u32(NFTA_TABLE_FLAGS, 0);
            });
            b.push(NFT_MSG_DELTABLE, fam, FLAGS_ACK, format!("deleting {tname}"), |a| {
                a.str(NFTA_TABLE_NAME, name);
            });
        }
        for (family, table, set) in &self.flush {
            let what = format!("emptying set @{set} of table {} {table}", family.keyword());
            b.push(NFT_MSG_DELSETELEM, family.nfproto(), FLAGS_ACK, what, |a| {
                a.str(NFTA_SET_ELEM_LIST_TABLE, table).str(NFTA_SET_ELEM_LIST_SET, set);
            });
        }
        let mut set_id = 0;
        for t in &self.tables {
            let fam = t.family.nfproto();
            let tname = format!("table {} {}", t.family.keyword(), t.name);
            b.push(NFT_MSG_NEWTABLE, fam, FLAGS_CREATE, format!("creating {tname}"), |a| {
                a.str(NFTA_TABLE_NAME, &t.name).u32(NFTA_TABLE_FLAGS, 0);
            });
            for s in &t.sets {
                set_id += 1;
                b.push(NFT_MSG_NEWSET, fam, FLAGS_CREATE, format!("creating set @{} in {tname}", s.name), |a| {
                    let mut flags = NFT_SET_TIMEOUT | NFT_SET_EVAL;
                    if s.data.is_some() {
                        flags |= NFT_SET_MAP;
                    }
                    a.str(NFTA_SET_TABLE, &t.name).str(NFTA_SET_NAME, &s.name).u32(NFTA_SET_FLAGS, flags);
                    // The key and data types are only labels for `nft list`; the lengths matter.
                    a.u32(NFTA_SET_KEY_TYPE, 0).u32(NFTA_SET_KEY_LEN, s.key_len);
                    if let Some((_, len)) = s.data {
                        a.u32(NFTA_SET_DATA_TYPE, 0).u32(NFTA_SET_DATA_LEN, len);
                    }
                    // No NFTA_SET_DESC size: it would cap the set at that many elements and
                    // make the kernel allocate a hash table for all of them up front (1 MiB for
                    // 65,535); without it the table starts small, grows, and has no cap.
                    a.u32(NFTA_SET_ID, set_id).u64(NFTA_SET_TIMEOUT, s.timeout_ms);
                });
            }
            for c in &t.chains {
                let what = format!("creating chain {} in {tname}", c.name);
                b.push(NFT_MSG_NEWCHAIN, fam, FLAGS_CREATE, what, |a| {
                    a.str(NFTA_CHAIN_TABLE, &t.name).str(NFTA_CHAIN_NAME, &c.name);
                    a.nested(NFTA_CHAIN_HOOK, |h| {
                        h.u32(NFTA_HOOK_HOOKNUM, c.hook as u32).u32(NFTA_HOOK_PRIORITY, c.priority as u32);
                    });
                    a.u32(NFTA_CHAIN_POLICY, 1).str(NFTA_CHAIN_TYPE, c.kind.keyword());
                });
                if t.replace {
                    // No handle: every rule of the chain.
                    let what = format!("flushing chain {} of {tname}", c.name);
                    b.push(NFT_MSG_DELRULE, fam, FLAGS_DELETE, what, |a| {
                        a.str(NFTA_RULE_TABLE, &t.name).str(NFTA_RULE_CHAIN, &c.name);
                    });
                }
                for r in &c.rules {
                    let what = format!("adding rule `{}` to chain {} of {tname}", r.text, c.name);
                    b.push(NFT_MSG_NEWRULE, fam, FLAGS_APPEND, what, |a| encode_rule(a, &t.name, &c.name, &r.exprs));
                }
            }
        }
        for e in self.elements.iter().filter(|e| !e.elems.is_empty()) {
            let what = format!(
                "adding {} elements to set @{} of table {} {}",
                e.elems.len(),
                e.set,
                e.family.keyword(),
                e.table
            );
            b.push(NFT_MSG_NEWSETELEM, e.family.nfproto(), FLAGS_CREATE, what, |a| {
                a.str(NFTA_SET_ELEM_LIST_TABLE, &e.table).str(NFTA_SET_ELEM_LIST_SET, &e.set);
                a.nested(NFTA_SET_ELEM_LIST_ELEMENTS, |l| {
                    for (key, data, timeout_ms) in &e.elems {
                        l.nested(NFTA_LIST_ELEM, |el| {
                            el.data(NFTA_SET_ELEM_KEY, key);
                            if let Some(d) = data {
                                el.data(NFTA_SET_ELEM_DATA, d);
                            }
                            el.u64(NFTA_SET_ELEM_TIMEOUT, *timeout_ms);
                        });
                    }
                });
            });
        }
        b.finish()
    }

    /// The ruleset in `nft list ruleset` style, one line per rule.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        for t in &self.tables {
            out += &format!("table {} {} {{\n", t.family.keyword(), t.name);
            for s in &t.sets {
                let ty = match s.data {
                    Some((d, _)) => {
                        format!("map {} {{ type {} : {d}; timeout {}s }}", s.name, s.key, s.timeout_ms / 1000)
                    }
                    None => format!("set {} {{ type {}; timeout {}s }}", s.name, s.key, s.timeout_ms / 1000),
                };
                out += &format!("  {ty}\n");
            }
            for c in &t.chains {
                out += &format!(
                    "  chain {} {{ type {} hook {} priority {} }}\n",
                    c.name,
                    c.kind.keyword(),
                    c.hook.keyword(),
                    c.priority
                );
                for r in &c.rules {
                    out += &format!("    {}\n", r.text);
                }
            }
            out += "}\n";
        }
        out
    }
}

/// `NFTA_RULE_TABLE`, `NFTA_RULE_CHAIN`, `NFTA_RULE_EXPRESSIONS`.
pub(crate) fn encode_rule(a: &mut Attrs, table: &str, chain: &str, exprs: &[Expr]) {
    a.str(NFTA_RULE_TABLE, table).str(NFTA_RULE_CHAIN, chain);
    a.nested(NFTA_RULE_EXPRESSIONS, |l| exprs.iter().for_each(|e| e.encode(l)));
}
