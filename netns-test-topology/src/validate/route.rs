//! `h: default via 10.0.0.1`, `h: 10.2.0.0/24 via 10.1.0.1`: static routes.

use super::addr::{fam, ipv4_mapped, not_unicast};
use super::Validator;
use crate::ast::{RouteStmt, Span};
use crate::error::Error;
use crate::model::Route;
use crate::text::at;
use ipnet::IpNet;
use std::collections::HashMap;
use std::net::IpAddr;

/// A route's identity: node, destination (`None` for default), IPv4.
type RouteKey = (usize, Option<IpNet>, bool);

/// The routes so far, each with where it was first written and its destination as written.
#[derive(Default)]
pub(super) struct Seen(HashMap<RouteKey, (Span, Option<IpNet>)>);

impl Validator<'_> {
    pub(super) fn route(&mut self, r: &RouteStmt) {
        let Some(n) = self.lookup(&r.node) else { return };
        if !r.valid {
            return;
        }
        if let Some(e) = ipv4_mapped(r.via, &r.via_span) {
            self.errors.push(e);
            return;
        }
        if let Some(dest) = r.dest {
            if dest.addr().is_ipv4() != r.via.is_ipv4() {
                self.errors.push(Error::new(
                    r.via_span.clone(),
                    format!("gateway `{}` is {} but destination `{dest}` is {}", r.via, fam(r.via), fam(dest.addr())),
                ));
                return;
            }
        }
        if let Some(why) = not_unicast(r.via) {
            let msg = format!("gateway `{}` is {why}; a gateway must be a unicast address", r.via);
            self.errors.push(
                Error::new(r.via_span.clone(), msg).help("the gateway is a host address in one of the node's subnets"),
            );
        } else {
            self.check_gateway(n, &r.node.text, r.via, &r.via_span);
        }
        // `0.0.0.0/0` and `::/0` are `default` (whose family is the gateway's).
        let any = if r.via.is_ipv4() { "0.0.0.0/0" } else { "::/0" };
        let to: IpNet = r.dest.unwrap_or_else(|| any.parse().expect("valid"));
        let dest = r.dest.map_or("default".to_string(), |d| d.to_string());
        let clash = self.node_subnets(n).find(|(_, a)| a.trunc() == to && a.prefix_len() < a.max_prefix_len());
        if let Some((i, net)) = clash.map(|(i, net)| (i.to_string(), net)) {
            self.errors.push(
                Error::new(
                    r.dest_span.clone(),
                    format!("route to `{dest}` clashes with node `{}`'s own subnet on {i}", r.node.text),
                )
                .help(format!(
                    "`{}` is reached directly through {i} (address `{net}`); remove this route",
                    net.trunc()
                )),
            );
        }
        let key = (n, (to.prefix_len() > 0).then_some(to), r.via.is_ipv4());
        if let Some((first, first_dest)) = self.routes.0.get(&key) {
            let at = at(self.src, first.start);
            // Written two ways, `default` and `0.0.0.0/0`: say which route it is.
            let two_ways = r.dest.is_some() != first_dest.is_some();
            let shown = if two_ways { "default" } else { &dest };
            let mut e = Error::new(
                r.dest_span.clone(),
                format!("route to `{shown}` is defined twice in node `{}` (first at {at})", r.node.text),
            );
            if two_ways {
                e = e.help(format!("`{any}` is the default route"));
            }
            self.errors.push(e);
        } else {
            self.routes.0.insert(key, (r.dest_span.clone(), r.dest));
        }
        self.topo.nodes[n].routes.push(Route { dest: r.dest, via: r.via });
    }

    /// Reports a gateway that is the node's own address or outside all its subnets.
    fn check_gateway(&mut self, n: usize, node: &str, via: IpAddr, span: &Span) {
        let nets: Vec<_> = self.topo.nodes[n]
            .interfaces
            .iter()
            .flat_map(|i| &i.addrs)
            .filter(|a| a.addr().is_ipv4() == via.is_ipv4())
            .collect();
        if nets.iter().any(|a| a.addr() == via) {
            self.errors
                .push(Error::new(span.clone(), format!("gateway `{via}` is an address of node `{node}` itself")));
        } else if !nets.iter().any(|a| a.contains(&via)) {
            let help = if nets.is_empty() {
                format!("node `{node}` has no {} address", fam(via))
            } else {
                let subnets: Vec<String> = nets.iter().map(|a| a.trunc().to_string()).collect();
                format!("the gateway must be in one of the subnets of `{node}`: {}", subnets.join(", "))
            };
            self.knock_on.push(
                Error::new(span.clone(), format!("gateway `{via}` is not reachable from node `{node}`")).help(help),
            );
        } else if let Some(net) = nets
            .iter()
            .map(|a| a.trunc())
            .find(|net| via.is_ipv4() && net.prefix_len() <= 30 && (via == net.network() || via == net.broadcast()))
        {
            let which = if via == net.network() { "network" } else { "broadcast" };
            self.errors.push(Error::new(
                span.clone(),
                format!("gateway `{via}` is the {which} address of `{net}`; a gateway must be a unicast address"),
            ));
        }
    }
}
