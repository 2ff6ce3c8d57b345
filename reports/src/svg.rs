//! Graphs as inline SVG (layouts in [`crate::graph`]).

use std::fmt::Write;

use crate::graph::{layout, Layout, BOX_H, BOX_W};
use crate::html::esc;
use crate::report::Report;

/// Renders the graph of `r`'s largest hops.
pub fn flow_graph(r: &Report) -> String {
    render(&layout(r))
}

/// Draws a laid-out graph.
pub fn render(g: &Layout) -> String {
    let (w, h) = (g.width, g.height);
    let mut o = String::new();
    let _ = write!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-size=\"11\">\
         <defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" refY=\"4\" orient=\"auto\">\
         <path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>"
    );
    for a in &g.arrows {
        let ((sx, sy), (ex, ey)) = (a.from, a.to);
        let head = if a.head {
            " marker-end=\"url(#arrow)\""
        } else {
            ""
        };
        let _ = write!(
            o,
            "<line x1=\"{sx}\" y1=\"{sy}\" x2=\"{ex}\" y2=\"{ey}\" stroke=\"#555\" stroke-width=\"1.2\"{head}/>"
        );
        if !a.label.is_empty() {
            let _ = write!(
                o,
                "<text x=\"{}\" y=\"{}\" fill=\"#333\">{}</text>",
                (sx + ex) / 2.0 - 30.0,
                (sy + ey) / 2.0 - 3.0,
                esc(&a.label)
            );
        }
    }
    for n in &g.nodes {
        let (r, gr, b) = n.fill;
        let _ = write!(
            o,
            "<rect x=\"{}\" y=\"{}\" width=\"{BOX_W}\" height=\"{BOX_H}\" rx=\"4\" fill=\"#{r:02x}{gr:02x}{b:02x}\" stroke=\"#777\"/>\
             <text x=\"{}\" y=\"{}\" font-family=\"monospace\">{}</text>\
             <text x=\"{}\" y=\"{}\" fill=\"#444\">{}</text>",
            n.x,
            n.y,
            n.x + 6.0,
            n.y + 16.0,
            esc(&n.title),
            n.x + 6.0,
            n.y + 32.0,
            esc(&n.note)
        );
    }
    o.push_str("</svg>");
    o
}
