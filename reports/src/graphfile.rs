//! The trace graph for graph tools: Graphviz DOT and GraphML (Gephi,
//! yEd, Cytoscape), with every hop's txid, amount, rule and confidence as
//! edge attributes.

use std::fmt::Write;

use crate::html::esc;
use crate::report::Report;

/// `s` with DOT's special characters escaped (no quotes around).
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot_str(s: &str) -> String {
    format!("\"{}\"", dot_escape(s))
}

/// `graph.dot`.
pub fn dot(r: &Report) -> String {
    let mut o = String::from(
        "digraph trace {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, n) in r.nodes.iter().enumerate() {
        // Two lines: the address, then the service or role.
        let second = n.service.as_deref().unwrap_or(&n.role);
        let _ = writeln!(
            o,
            "  n{i} [label=\"{}\\n{}\", role={}, hop={}];",
            dot_escape(&n.address),
            dot_escape(second),
            dot_str(&n.role),
            n.hop
        );
    }
    for h in &r.hops {
        let _ = writeln!(
            o,
            "  n{} -> n{} [label={}, txid={}, vout={}, amount={}, rule={}, confidence={}];",
            h.from_node,
            h.to_node,
            dot_str(&h.amount_text),
            dot_str(&h.txid),
            h.vout,
            dot_str(&h.amount),
            dot_str(&h.rule),
            h.confidence
        );
    }
    o.push_str("}\n");
    o
}

/// `graph.graphml`.
pub fn graphml(r: &Report) -> String {
    let mut o = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <graphml xmlns=\"http://graphml.graphdrawing.org/xmlns\">\n\
         <key id=\"address\" for=\"node\" attr.name=\"address\" attr.type=\"string\"/>\n\
         <key id=\"role\" for=\"node\" attr.name=\"role\" attr.type=\"string\"/>\n\
         <key id=\"service\" for=\"node\" attr.name=\"service\" attr.type=\"string\"/>\n\
         <key id=\"hop\" for=\"node\" attr.name=\"hop\" attr.type=\"int\"/>\n\
         <key id=\"txid\" for=\"edge\" attr.name=\"txid\" attr.type=\"string\"/>\n\
         <key id=\"vout\" for=\"edge\" attr.name=\"vout\" attr.type=\"int\"/>\n\
         <key id=\"amount\" for=\"edge\" attr.name=\"amount\" attr.type=\"string\"/>\n\
         <key id=\"rule\" for=\"edge\" attr.name=\"rule\" attr.type=\"string\"/>\n\
         <key id=\"confidence\" for=\"edge\" attr.name=\"confidence\" attr.type=\"int\"/>\n\
         <graph id=\"trace\" edgedefault=\"directed\">\n",
    );
    for (i, n) in r.nodes.iter().enumerate() {
        let _ = writeln!(
            o,
            "<node id=\"n{i}\"><data key=\"address\">{}</data><data key=\"role\">{}</data><data key=\"service\">{}</data><data key=\"hop\">{}</data></node>",
            esc(&n.address),
            esc(&n.role),
            esc(n.service.as_deref().unwrap_or("")),
            n.hop
        );
    }
    for (i, h) in r.hops.iter().enumerate() {
        let _ = writeln!(
            o,
            "<edge id=\"e{i}\" source=\"n{}\" target=\"n{}\"><data key=\"txid\">{}</data><data key=\"vout\">{}</data><data key=\"amount\">{}</data><data key=\"rule\">{}</data><data key=\"confidence\">{}</data></edge>",
            h.from_node,
            h.to_node,
            esc(&h.txid),
            h.vout,
            esc(&h.amount),
            esc(&h.rule),
            h.confidence
        );
    }
    o.push_str("</graph>\n</graphml>\n");
    o
}
