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

/// Everything installed in one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ruleset {
    pub(crate) tables: Vec<Table>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 only (`table ip`).
    Ip,
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
    fn nfproto(self) -> u8 {
        match self {
            Family::Ip => NFPROTO_IPV4,
            Family::Inet => NFPROTO_INET,
        }
    }

    fn keyword(self) -> &'static str {
        match self {
            Family::Ip => "ip",
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
                    a.nested(NFTA_SET_DESC, |d| {
                        d.u32(NFTA_SET_DESC_SIZE, 65535);
                    });
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
