//! `tracer decode`: raw transactions, raw blocks and blk files without a ledger.
//! A blk file is decoded and printed one block at a time, so its size does
//! not set the memory used.

use anyhow::Result;
use bitcoin::Network;
use chain_adapters::bitcoin::decode::{decode_arg, each_blk_block, Input};
use tracer::output::print_json;
use tracer::terminal::Out;

use crate::render;

/// Runs `tracer decode INPUT`.
pub fn run(input: &str, network: Network, json: bool) -> Result<()> {
    let path = match decode_arg(input, network)? {
        Input::Raw(d) if json => return print_json(&d),
        Input::Raw(d) => {
            render::decoded(&d);
            return Ok(());
        }
        Input::BlkFile(path) => path,
    };
    let tail = if json {
        let mut out = Out::new();
        out.literal("{\n  \"type\": \"blocks\",\n  \"blocks\": [")?;
        let mut first = true;
        let tail = each_blk_block(&path, |b| {
            let sep = if std::mem::take(&mut first) {
                "\n"
            } else {
                ",\n"
            };
            out.literal(sep)
                .and_then(|()| out.json_pretty(&b, "    "))
                .map_err(|e| chain_adapters::Error::io("standard output", e))
        })?;
        out.literal(if first { "]" } else { "\n  ]" })?;
        if let Some(t) = &tail {
            out.literal(",\n  \"incomplete_tail\": ")?;
            out.json_pretty(&t.to_string(), "")?;
        }
        out.literal("\n}\n")?;
        out.flush()?;
        tail
    } else {
        each_blk_block(&path, |b| {
            render::decoded_block(&b);
            Ok(())
        })?
    };
    if let Some(t) = tail {
        tracer::errln!("warning: left out the incomplete record the file ends inside: {t}");
    }
    Ok(())
}
