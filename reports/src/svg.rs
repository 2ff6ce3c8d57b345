//! The flow graph as inline SVG: nodes in columns by hop count (the
//! victim's payment on the left, the endpoints on the right), hops as
//! arrows labelled with the traced amount. At most
//! [`crate::html::GRAPH_MAX_HOPS`] hops, the largest.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::html::{esc, GRAPH_MAX_HOPS};
use crate::report::Report;

const BOX_W: usize = 190;
const BOX_H: usize = 42;
const COL_W: usize = 260;
const ROW_H: usize = 62;
const MARGIN: usize = 16;

/// `1Q2TWHE3…Jvm3`: enough of an address to recognise it.
fn short(a: &str) -> String {
    let chars: Vec<char> = a.chars().collect();
    if chars.len() <= 16 {
        return a.to_string();
    }
    let head: String = chars[..9].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}…{tail}")
}

/// Renders the graph of `r`'s largest hops.
pub fn flow_graph(r: &Report) -> String {
    let mut order: Vec<usize> = (0..r.hops.len()).collect();
    order.sort_by(|&a, &b| {
        let amount = |i: usize| r.hops[i].amount.parse::<u128>().unwrap_or(0);
        amount(b).cmp(&amount(a)).then(a.cmp(&b))
    });
    order.truncate(GRAPH_MAX_HOPS);
    order.sort_unstable();
    let mut shown: BTreeMap<usize, ()> = BTreeMap::new();
    for &i in &order {
        shown.insert(r.hops[i].from_node, ());
        shown.insert(r.hops[i].to_node, ());
    }
    if shown.is_empty() {
        for (i, n) in r.nodes.iter().enumerate() {
            if n.role == "seed" {
                shown.insert(i, ());
            }
        }
    }
    // Column = hop count; rows in node order within a column.
    let mut columns: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &n in shown.keys() {
        columns.entry(r.nodes[n].hop).or_default().push(n);
    }
    let mut pos: BTreeMap<usize, (usize, usize)> = BTreeMap::new();
    for (c, (_, nodes)) in columns.iter().enumerate() {
        for (row, &n) in nodes.iter().enumerate() {
            pos.insert(n, (MARGIN + c * COL_W, MARGIN + row * ROW_H));
        }
    }
    let width = MARGIN * 2 + columns.len().max(1) * COL_W;
    let rows = columns.values().map(Vec::len).max().unwrap_or(1);
    let height = MARGIN * 2 + rows * ROW_H;
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-size=\"11\">\
         <defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\">\
         <path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>"
    );
    for &i in &order {
        let h = &r.hops[i];
        let (Some(&(x1, y1)), Some(&(x2, y2))) = (pos.get(&h.from_node), pos.get(&h.to_node))
        else {
            continue;
        };
        let (sx, sy, ex, ey) = (x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2);
        let _ = write!(
            o,
            "<line x1=\"{sx}\" y1=\"{sy}\" x2=\"{ex}\" y2=\"{ey}\" stroke=\"#555\" stroke-width=\"1.2\" marker-end=\"url(#arrow)\"/>\
             <text x=\"{}\" y=\"{}\" fill=\"#333\">{}</text>",
            (sx + ex) / 2 - 30,
            (sy + ey) / 2 - 3,
            esc(&h.amount_text)
        );
    }
    for (&n, &(x, y)) in &pos {
        let node = &r.nodes[n];
        let fill = match node.role.as_str() {
            "seed" => "#e3f2e1",
            "endpoint" => "#fde2e1",
            "coinjoin" => "#fff3cd",
            _ => "#f2f2f2",
        };
        let label = node.service.clone().unwrap_or_else(|| node.role.clone());
        let _ = write!(
            o,
            "<rect x=\"{x}\" y=\"{y}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\" fill=\"{fill}\" stroke=\"#777\"/>\
             <text x=\"{}\" y=\"{}\" font-family=\"monospace\">{}</text>\
             <text x=\"{}\" y=\"{}\" fill=\"#444\">{}</text>",
            x + 6,
            y + 16,
            esc(&short(&node.address)),
            x + 6,
            y + 32,
            esc(&label)
        );
    }
    o.push_str("</svg>");
    o
}
