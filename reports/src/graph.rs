//! Graph layouts, drawn alike by the SVG (HTML) and the PDF: boxes of two
//! lines joined by arrows or plain lines. The trace report's flow graph
//! ([`layout`]) puts nodes in columns by hop count (the victim's payment on
//! the left, the endpoints on the right) and draws the largest
//! [`GRAPH_MAX_HOPS`] hops as arrows; the linkage report lays out cases
//! and the entities they share.

use std::collections::BTreeMap;

use crate::lang::Lang;
use crate::report::Report;

/// Hops drawn at most (the largest by amount).
pub const GRAPH_MAX_HOPS: usize = 120;
/// Box width.
pub const BOX_W: f32 = 190.0;
/// Box height.
pub const BOX_H: f32 = 42.0;
/// Distance between the left edges of two columns.
pub const COL_W: f32 = 260.0;
const ROW_H: f32 = 62.0;
/// Space around the graph.
pub const MARGIN: f32 = 16.0;

/// A box of two lines.
pub struct NodeBox {
    /// Top-left corner.
    pub x: f32,
    /// Top-left corner.
    pub y: f32,
    /// First line (an address, shortened, or a case id), in monospace.
    pub title: String,
    /// Second line (service, role, prefecture or kind of entity).
    pub note: String,
    /// Fill colour (RGB).
    pub fill: (u8, u8, u8),
}

/// A line from one box to another.
pub struct Arrow {
    /// Start (right middle of the left box).
    pub from: (f32, f32),
    /// End (left middle of the right box).
    pub to: (f32, f32),
    /// Text at its middle (the traced amount; may be empty).
    pub label: String,
    /// Whether it ends in an arrowhead (a flow of funds) or is a plain
    /// line (a case and what it shares).
    pub head: bool,
}

/// The laid-out graph.
pub struct Layout {
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Boxes.
    pub nodes: Vec<NodeBox>,
    /// Arrows and lines.
    pub arrows: Vec<Arrow>,
}

/// Fill of a victim's payment (seed) and of a case.
pub const FILL_SEED: (u8, u8, u8) = (0xe3, 0xf2, 0xe1);
/// Fill of an endpoint and of a shared entity.
pub const FILL_ENDPOINT: (u8, u8, u8) = (0xfd, 0xe2, 0xe1);

/// The note under a graph that shows only the largest hops (`None` when it
/// shows them all).
pub fn cut_note(lang: Lang, hops: usize) -> Option<String> {
    (hops > GRAPH_MAX_HOPS).then(|| {
        lang.t("graph_cut")
            .replace("{n}", &GRAPH_MAX_HOPS.to_string())
            .replace("{m}", &hops.to_string())
    })
}

/// `1Q2TWHE3…Jvm3`: enough of an address to recognise it.
pub fn short(a: &str) -> String {
    let chars: Vec<char> = a.chars().collect();
    if chars.len() <= 16 {
        return a.to_string();
    }
    let head: String = chars[..9].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}…{tail}")
}

/// Lays out `r`'s largest hops.
pub fn layout(r: &Report) -> Layout {
    let mut order: Vec<usize> = (0..r.hops.len()).collect();
    let amount = |i: usize| r.hops[i].amount.parse::<u128>().unwrap_or(0);
    order.sort_by(|&a, &b| amount(b).cmp(&amount(a)).then(a.cmp(&b)));
    order.truncate(GRAPH_MAX_HOPS);
    order.sort_unstable();
    let mut shown: Vec<usize> = order
        .iter()
        .flat_map(|&i| [r.hops[i].from_node, r.hops[i].to_node])
        .collect();
    if shown.is_empty() {
        shown = (0..r.nodes.len())
            .filter(|&i| r.nodes[i].role == "seed")
            .collect();
    }
    shown.sort_unstable();
    shown.dedup();
    let mut columns: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for &n in &shown {
        columns.entry(r.nodes[n].hop).or_default().push(n);
    }
    let mut pos: BTreeMap<usize, (f32, f32)> = BTreeMap::new();
    for (c, nodes) in columns.values().enumerate() {
        for (row, &n) in nodes.iter().enumerate() {
            pos.insert(n, (MARGIN + c as f32 * COL_W, MARGIN + row as f32 * ROW_H));
        }
    }
    let rows = columns.values().map(Vec::len).max().unwrap_or(1);
    let arrows = order
        .iter()
        .filter_map(|&i| {
            let h = &r.hops[i];
            let (&(x1, y1), &(x2, y2)) = (pos.get(&h.from_node)?, pos.get(&h.to_node)?);
            Some(Arrow {
                from: (x1 + BOX_W, y1 + BOX_H / 2.0),
                to: (x2, y2 + BOX_H / 2.0),
                label: h.amount_text.clone(),
                head: true,
            })
        })
        .collect();
    let nodes = pos
        .iter()
        .map(|(&n, &(x, y))| {
            let node = &r.nodes[n];
            NodeBox {
                x,
                y,
                title: short(&node.address),
                note: node
                    .service
                    .clone()
                    .unwrap_or_else(|| crate::terms::term(&node.role, r.lang).to_string()),
                fill: match node.role.as_str() {
                    "seed" => FILL_SEED,
                    "endpoint" => FILL_ENDPOINT,
                    "coinjoin" => (0xff, 0xf3, 0xcd),
                    _ => (0xf2, 0xf2, 0xf2),
                },
            }
        })
        .collect();
    Layout {
        width: MARGIN * 2.0 + columns.len().max(1) as f32 * COL_W,
        height: MARGIN * 2.0 + rows as f32 * ROW_H,
        nodes,
        arrows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_graph_says_how_many_hops_it_shows() {
        assert_eq!(cut_note(Lang::En, GRAPH_MAX_HOPS), None);
        assert_eq!(
            cut_note(Lang::En, GRAPH_MAX_HOPS + 1).as_deref(),
            Some("The graph shows the 120 largest of 121 hops.")
        );
        assert!(cut_note(Lang::Ja, 500).unwrap().contains("全500件"));
    }
}
