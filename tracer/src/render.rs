//! Plain-text rendering of query results for the terminal.

use chain_adapters::bitcoin::decode::{Decoded, DecodedTx};
use chain_adapters::ingest::IngestSummary;
use chain_adapters::query::{btc, AddressRef, AddressView, StatusView, TxView};

fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref().map_or("-".to_string(), |v| v.to_string())
}

fn who(a: &Option<AddressRef>) -> String {
    match a {
        Some(a) => format!("{} ({})", a.address, a.kind),
        None => "(no address)".into(),
    }
}

/// `tracer status`.
pub fn status(s: &StatusView) {
    println!("ledger        {}", s.db);
    println!("schema        v{}", s.schema_version);
    println!("bitcoin       {}", opt(&s.bitcoin_network));
    println!("tip height    {}", opt(&s.bitcoin_tip_height));
    println!("tip hash      {}", opt(&s.bitcoin_tip_hash));
    println!("tip time      {}", opt(&s.bitcoin_tip_time));
    println!("transactions  {}", s.transactions);
    println!("addresses     {}", s.addresses);
    if let Some(f) = &s.fingerprint {
        println!("fingerprint   {f}");
    }
}

/// `tracer tx`.
pub fn tx(t: &TxView) {
    println!("tx {}", t.txid);
    println!(
        "block {} ({}) at {}, position {}",
        t.height, t.block_hash, t.time, t.index
    );
    println!(
        "version {}  locktime {}  size {} B  vsize {} vB  fee {} BTC{}",
        t.version,
        t.locktime,
        t.size,
        t.vsize,
        btc(t.fee),
        if t.coinbase { "  (coinbase)" } else { "" }
    );
    println!("inputs:");
    for (i, inp) in t.inputs.iter().enumerate() {
        match &inp.spends {
            Some(s) => println!(
                "  {i:>3}  {:>17} BTC  {}  spends {s}",
                btc(inp.value),
                who(&inp.address)
            ),
            None => println!("  {i:>3}  coinbase"),
        }
    }
    println!("outputs:");
    for o in &t.outputs {
        println!(
            "  {:>3}  {:>17} BTC  {}  {}",
            o.vout,
            btc(o.value),
            who(&o.address),
            o.spent_by
                .as_ref()
                .map_or("unspent".to_string(), |s| format!("spent by {s}"))
        );
    }
}

/// `tracer address`.
pub fn address(a: &AddressView) {
    println!("address {}", a.query);
    println!(
        "balance {} BTC  received {} BTC  sent {} BTC",
        btc(a.balance),
        btc(a.received),
        btc(a.sent)
    );
    for e in &a.entries {
        println!(
            "\n  [{}] {} #{}: {} txs, heights {}..{}, balance {} BTC",
            e.address.kind,
            e.address.address,
            e.address.id,
            e.tx_count,
            opt(&e.first_height),
            opt(&e.last_height),
            btc(e.balance)
        );
        for h in &e.history {
            println!(
                "    {:>8}  {}  +{} -{}",
                h.height,
                h.txid,
                btc(h.received),
                btc(h.sent)
            );
        }
        if e.history.len() < e.tx_count {
            println!(
                "    … {} of {} shown (--offset/--limit)",
                e.history.len(),
                e.tx_count
            );
        }
    }
}

fn decoded_tx(t: &DecodedTx, indent: &str) {
    println!(
        "{indent}tx {}  ({} in, {} out)",
        t.txid,
        t.inputs.len(),
        t.outputs.len()
    );
    for o in &t.outputs {
        println!(
            "{indent}  {:>3}  {:>17} BTC  {:<11} {}",
            o.vout,
            btc(o.value.into()),
            o.kind,
            o.address.as_deref().unwrap_or("-")
        );
    }
}

/// `tracer decode`.
pub fn decoded(d: &Decoded) {
    match d {
        Decoded::Transaction(t) => decoded_tx(t, ""),
        Decoded::Blocks { blocks } => {
            for b in blocks {
                println!(
                    "block {}  height {}  {} txs  network {}{}",
                    b.hash,
                    opt(&b.height),
                    b.tx_count,
                    b.network,
                    b.offset.map_or(String::new(), |o| format!("  offset {o}"))
                );
                for t in &b.txs {
                    decoded_tx(t, "  ");
                }
            }
        }
    }
}

/// `tracer ingest` summary.
pub fn ingest_summary(s: &IngestSummary) {
    let mb = s.bytes as f64 / 1e6;
    println!(
        "ingested {} blocks, {} txs, {} transfers, {:.1} MB in {:.2} s ({:.1} MB/s); rolled back {}; left out {} stale, {} unconnected",
        s.blocks,
        s.txs,
        s.transfers,
        mb,
        s.seconds,
        if s.seconds > 0.0 { mb / s.seconds } else { 0.0 },
        s.rolled_back,
        s.stale_blocks,
        s.unconnected_blocks
    );
    println!("tip: height {} {}", opt(&s.tip_height), opt(&s.tip_hash));
}

/// Summary of `tracer simulate`.
pub fn simulated(s: &tracer::simulate::SimSummary, took: std::time::Duration) {
    println!(
        "simulated {} blocks, {} transactions, {} addresses, {} entities, {} cases in {:.1} s",
        s.blocks,
        s.txs,
        s.addresses,
        s.entities,
        s.cases,
        took.as_secs_f64()
    );
    println!(
        "blocks:  {} ({} blk files, {:.1} MB)",
        s.blocks_dir.display(),
        s.blk_files,
        s.blk_bytes as f64 / 1e6
    );
    println!("truth:   {}", s.truth.display());
    println!(
        "tags:    {} ({} service wallets)",
        s.tags.display(),
        s.tag_count
    );
    if s.in_flight > 0 {
        println!(
            "note:    {} criminal coins were still in flight at the last block",
            s.in_flight
        );
    }
}

/// `tracer trace`: parameters, the endpoint table, where the rest went,
/// every amount in the traced asset's own unit.
pub fn trace(case: Option<&str>, t: &trace_file::TraceFile) {
    let p = &t.params;
    let s = &t.summary;
    let unit = &t.unit;
    let amt = |a: trace_file::Amount| a.text(unit.decimals, "");
    let amt = |a| amt(a).trim_end().to_string();
    println!(
        "{} trace{} — model {}, level {}, max hops {}, CoinJoins: {}",
        t.direction,
        case.map(|c| format!(" of case {c}")).unwrap_or_default(),
        p.model,
        p.level,
        p.limits.max_hops,
        p.coinjoins
    );
    println!(
        "seeds: {} output(s), {} {}",
        t.seeds.len(),
        amt(s.seed_value),
        unit.symbol
    );
    let forward = t.direction == trace_file::Direction::Forward;
    let title = if forward {
        "endpoints (where the funds entered services)"
    } else {
        "sources (services the funds came from)"
    };
    println!("{title}: {}", t.endpoints.len());
    if !t.endpoints.is_empty() {
        println!(
            "  {:<18} {:<10} {:<44} {:>24} {:>8}  {:<23} {:<23} {:<15} CONF",
            "SERVICE",
            "CLASS",
            "ADDRESS",
            format!("AMOUNT ({})", unit.symbol),
            "SHARE",
            "FIRST",
            "LAST",
            "RULE"
        );
    }
    for e in &t.endpoints {
        println!(
            "  {:<18} {:<10} {:<44} {:>24} {:>7.2}%  {:<23} {:<23} {:<15} {}",
            e.service,
            e.class.name().to_lowercase(),
            e.deposit_address,
            amt(e.amount),
            e.share * 100.0,
            e.first_time,
            e.last_time,
            e.evidence.rule,
            e.evidence.confidence
        );
    }
    let b = &s.beyond;
    println!(
        "unspent {} · fees {} · into CoinJoins {} · no address {}{} ({})",
        amt(s.unspent),
        amt(s.fees),
        amt(s.coinjoins),
        amt(s.no_address),
        if forward {
            String::new()
        } else {
            format!(" · newly mined {}", amt(s.mined))
        },
        unit.symbol
    );
    println!(
        "beyond limits: hops {} · min amount {} · time {} · budget {} ({})",
        amt(b.max_hops),
        amt(b.min_amount),
        amt(b.time_limit),
        amt(b.max_txs),
        unit.symbol
    );
    for c in &t.barriers {
        println!(
            "  CoinJoin {} ({}) at height {}: {} {} entered",
            c.txid,
            c.kind,
            c.height,
            amt(c.amount),
            unit.symbol
        );
    }
    println!(
        "graph: {} nodes, {} hops; {} transactions judged",
        t.nodes.len(),
        t.edges.len(),
        s.txs
    );
    println!();
}

/// Several models side by side, in the traced asset's unit.
pub fn comparison(traces: &[trace_file::TraceFile]) {
    let Some(unit) = traces.first().map(|t| &t.unit) else {
        return;
    };
    let amt = |a: trace_file::Amount| a.text(unit.decimals, "").trim_end().to_string();
    println!("amounts in {}", unit.symbol);
    println!(
        "{:<8} {:>24} {:>24} {:>24} {:>20} {:>24} {:>24} {:>9}",
        "MODEL", "SEED", "ENDPOINTS", "UNSPENT", "FEES", "COINJOINS", "BEYOND", "ENDPOINTS#"
    );
    for t in traces {
        let s = &t.summary;
        let b = &s.beyond;
        let beyond = trace_file::Amount::sum([b.max_hops, b.min_amount, b.time_limit, b.max_txs])
            .map_or_else(|e| e.to_string(), amt);
        println!(
            "{:<8} {:>24} {:>24} {:>24} {:>20} {:>24} {:>24} {:>9}",
            t.params.model,
            amt(s.seed_value),
            amt(s.endpoints),
            amt(s.unspent),
            amt(s.fees),
            amt(s.coinjoins),
            beyond,
            t.endpoints.len()
        );
    }
}
