//! Plain-text rendering of query results for the terminal.

use chain_adapters::bitcoin::decode::{Decoded, DecodedBlock, DecodedTx};
use chain_adapters::ingest::IngestSummary;
use chain_adapters::ledger::Chain;
use chain_adapters::query::{btc, AddressEntry, AddressRef, AddressView, StatusView, TxView, Unit};
use tracer::outln;

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
    outln!("ledger        {}", s.db);
    outln!("schema        v{}", s.schema_version);
    let ethereum = s.ethereum_tip_height.is_some();
    if s.bitcoin_network.is_some() || !ethereum {
        outln!("bitcoin       {}", opt(&s.bitcoin_network));
        outln!("  tip height  {}", opt(&s.bitcoin_tip_height));
        outln!("  tip hash    {}", opt(&s.bitcoin_tip_hash));
        outln!("  tip time    {}", opt(&s.bitcoin_tip_time));
    }
    if ethereum {
        outln!("ethereum      {}", opt(&s.ethereum_network));
        outln!("  first block {}", opt(&s.ethereum_first_block));
        outln!("  tip height  {}", opt(&s.ethereum_tip_height));
        outln!("  tip hash    {}", opt(&s.ethereum_tip_hash));
        outln!("  tip time    {}", opt(&s.ethereum_tip_time));
    }
    outln!("transactions  {}", s.transactions);
    outln!("addresses     {}", s.addresses);
    if let Some(f) = &s.fingerprint {
        outln!("fingerprint   {f}");
    }
}

/// `tracer tx`.
pub fn tx(t: &TxView) {
    match t.chain {
        Chain::Bitcoin => bitcoin_tx(t),
        Chain::Ethereum => account_tx(t),
    }
}

/// A Bitcoin transaction: inputs spending earlier outputs, outputs (un)spent.
fn bitcoin_tx(t: &TxView) {
    outln!("tx {}", t.txid);
    outln!(
        "block {} ({}) at {}, position {}",
        t.height,
        t.block_hash,
        t.time,
        t.index
    );
    outln!(
        "version {}  locktime {}  size {} B  vsize {} vB  fee {} BTC{}",
        t.version,
        t.locktime,
        t.size,
        t.vsize,
        btc(t.fee),
        if t.coinbase { "  (coinbase)" } else { "" }
    );
    outln!("inputs:");
    for (i, inp) in t.inputs.iter().enumerate() {
        match &inp.spends {
            Some(s) => outln!(
                "  {i:>3}  {:>17} BTC  {}  spends {s}",
                btc(inp.value),
                who(&inp.address)
            ),
            None => outln!("  {i:>3}  coinbase"),
        }
    }
    outln!("outputs:");
    for o in &t.outputs {
        outln!(
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

/// An account-chain (Ethereum) transaction: the fee its sender paid and
/// its transfers, each numbered as a case file's `payment` names it.
fn account_tx(t: &TxView) {
    let coin = Unit::native(t.chain);
    outln!("tx {}", t.txid);
    outln!(
        "{} block {} ({}) at {}, position {}",
        t.chain.name(),
        t.height,
        t.block_hash,
        t.time,
        t.index
    );
    let mut status = vec![format!("type {}", t.version)];
    status.push(if t.failed {
        "failed: reverted, paid its fee and moved nothing".to_string()
    } else {
        "succeeded".to_string()
    });
    if t.creates_contract {
        status.push("creates a contract".to_string());
    }
    outln!("{}", status.join(", "));
    for fee in &t.inputs {
        outln!(
            "fee {} paid by {}",
            coin.show(fee.value),
            account(&fee.address)
        );
    }
    outln!(
        "transfers: {} (a case file names one as payment = \"{}:N\")",
        t.outputs.len(),
        t.txid
    );
    for o in &t.outputs {
        let unit = Unit::of(t.chain, o.token.as_ref());
        // A token without a symbol is already named by its contract.
        let token = match &o.token {
            Some(tok) if tok.symbol.is_some() => format!("  (token {})", tok.contract),
            _ => String::new(),
        };
        outln!(
            "  #{:<3} {} → {}  {}{token}",
            o.vout,
            account(&o.from),
            account(&o.address),
            unit.show(o.value)
        );
    }
}

/// An account as the Ethereum views show it.
fn account(a: &Option<AddressRef>) -> String {
    match a {
        Some(a) => a.address.clone(),
        None => "(none)".into(),
    }
}

/// `tracer address`.
pub fn address(a: &AddressView) {
    outln!("address {}", a.query);
    if a.entries.iter().all(|e| e.chain == Chain::Bitcoin) {
        outln!(
            "balance {} BTC  received {} BTC  sent {} BTC",
            btc(a.balance),
            btc(a.received),
            btc(a.sent)
        );
    }
    for e in &a.entries {
        match e.chain {
            Chain::Bitcoin => {
                entry_header(e, "heights", &format!(", balance {} BTC", btc(e.balance)))
            }
            Chain::Ethereum => account_totals(e),
        }
        for h in &e.history {
            let (plus, minus) = match e.chain {
                Chain::Bitcoin => (btc(h.received), btc(h.sent)),
                Chain::Ethereum => (h.unit.show(h.received), h.unit.show(h.sent)),
            };
            outln!("    {:>8}  {}  +{plus} -{minus}", h.height, h.txid);
        }
        if e.history.len() < e.tx_count {
            outln!(
                "    … {} of {} shown (--offset/--limit)",
                e.history.len(),
                e.tx_count
            );
        }
    }
}

/// The first line of one stored form of an address: kind, address, id,
/// transactions, first and last `heights`/`blocks`, then `more`.
fn entry_header(e: &AddressEntry, span: &str, more: &str) {
    outln!();
    outln!(
        "  [{}] {} #{}: {} txs, {span} {}..{}{more}",
        e.address.kind,
        e.address.address,
        e.address.id,
        e.tx_count,
        opt(&e.first_height),
        opt(&e.last_height),
    );
}

/// An Ethereum account's header: what it received, sent (fees included)
/// and its net change over the ingested blocks, in ether and per token.
fn account_totals(e: &AddressEntry) {
    let contract = e.contract_seen_in.as_ref().map_or(String::new(), |tx| {
        format!(", a contract (code seen in {tx})")
    });
    entry_header(e, "blocks", &contract);
    let coin = Unit::native(e.chain);
    outln!(
        "  {}: received {}  sent {} (fees included)  net {} over the ingested blocks",
        coin.symbol,
        coin.show(e.received),
        coin.show(e.sent),
        coin.show_signed(e.net)
    );
    for t in &e.tokens {
        let unit = Unit::of(e.chain, Some(&t.token));
        let name = match &t.token.symbol {
            Some(symbol) => format!("{symbol} (token {})", t.token.contract),
            None => format!("token {}", t.token.contract),
        };
        outln!(
            "  {name}: received {}  sent {}  net {}",
            unit.show(t.received),
            unit.show(t.sent),
            unit.show_signed(t.net)
        );
    }
}

fn decoded_tx(t: &DecodedTx, indent: &str) {
    outln!(
        "{indent}tx {}  ({} in, {} out)",
        t.txid,
        t.inputs.len(),
        t.outputs.len()
    );
    for o in &t.outputs {
        outln!(
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
        Decoded::Blocks { blocks } => blocks.iter().for_each(decoded_block),
    }
}

/// One decoded block and its transactions.
pub fn decoded_block(b: &DecodedBlock) {
    outln!(
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

/// `tracer ingest` summary.
pub fn ingest_summary(s: &IngestSummary) {
    let mb = s.bytes as f64 / 1e6;
    outln!(
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
    if let Some(tail) = &s.incomplete_tail {
        outln!("warning: incomplete last record left out: {tail}");
    }
    outln!("tip: height {} {}", opt(&s.tip_height), opt(&s.tip_hash));
}

/// Summary of `tracer simulate`.
pub fn simulated(s: &tracer::simulate::SimSummary, took: std::time::Duration) {
    outln!(
        "simulated {} blocks, {} transactions, {} addresses, {} entities, {} cases in {:.1} s",
        s.blocks,
        s.txs,
        s.addresses,
        s.entities,
        s.cases,
        took.as_secs_f64()
    );
    outln!(
        "blocks:  {} ({} blk files, {:.1} MB)",
        s.blocks_dir.display(),
        s.blk_files,
        s.blk_bytes as f64 / 1e6
    );
    outln!("truth:   {}", s.truth.display());
    outln!(
        "tags:    {} ({} service wallets)",
        s.tags.display(),
        s.tag_count
    );
    if s.in_flight > 0 {
        outln!(
            "note:    {} criminal coins were still in flight at the last block",
            s.in_flight
        );
    }
}

/// The unit a trace's amounts count.
fn trace_unit(t: &trace_file::TraceFile) -> Unit {
    Unit {
        symbol: t.unit.symbol.clone(),
        decimals: t.unit.decimals,
    }
}

/// `tracer trace`: parameters, the endpoint table, where the rest went —
/// amounts in the traced asset's unit (BTC, ETH or the token).
pub fn trace(case: Option<&str>, t: &trace_file::TraceFile) {
    let p = &t.params;
    let s = &t.summary;
    let unit = trace_unit(t);
    let n = |a: trace_file::Amount| unit.number(a.units());
    let ethereum = t.ledger.chain == trace_file::Chain::Ethereum;
    outln!(
        "{} trace{} — model {}, level {}, max hops {}, CoinJoins: {}",
        t.direction,
        case.map(|c| format!(" of case {c}")).unwrap_or_default(),
        p.model,
        p.level,
        p.limits.max_hops,
        p.coinjoins
    );
    outln!(
        "seeds: {} {}, {}",
        t.seeds.len(),
        if ethereum { "transfer(s)" } else { "output(s)" },
        unit.show(s.seed_value.units())
    );
    let forward = t.direction == trace_file::Direction::Forward;
    let title = if forward {
        "endpoints (where the funds entered services)"
    } else {
        "sources (services the funds came from)"
    };
    outln!("{title}: {}", t.endpoints.len());
    if !t.endpoints.is_empty() {
        outln!(
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
        outln!(
            "  {:<18} {:<10} {:<44} {:>24} {:>7.2}%  {:<23} {:<23} {:<15} {}",
            e.service,
            e.class.name().to_lowercase(),
            e.deposit_address,
            n(e.amount),
            e.share * 100.0,
            e.first_time,
            e.last_time,
            e.evidence.rule,
            e.evidence.confidence
        );
    }
    let b = &s.beyond;
    let held = if ethereum { "still held" } else { "unspent" };
    outln!(
        "{held} {} · fees {} · into CoinJoins {} · no address {}{} ({})",
        n(s.unspent),
        n(s.fees),
        n(s.coinjoins),
        n(s.no_address),
        if forward {
            String::new()
        } else {
            format!(" · newly mined {}", n(s.mined))
        },
        unit.symbol
    );
    outln!(
        "beyond limits: hops {} · min amount {} · time {} · budget {} ({})",
        n(b.max_hops),
        n(b.min_amount),
        n(b.time_limit),
        n(b.max_txs),
        unit.symbol
    );
    for c in &t.barriers {
        outln!(
            "  CoinJoin {} ({}) at height {}: {} entered",
            c.txid,
            c.kind,
            c.height,
            unit.show(c.amount.units())
        );
    }
    outln!(
        "graph: {} nodes, {} hops; {} transactions judged",
        t.nodes.len(),
        t.edges.len(),
        s.txs
    );
    outln!();
}

/// Several models side by side (amounts in the traced asset's unit).
pub fn comparison(traces: &[trace_file::TraceFile]) {
    let Some(first) = traces.first() else {
        return;
    };
    let unit = trace_unit(first);
    let n = |a: trace_file::Amount| unit.number(a.units());
    outln!("amounts in {}", unit.symbol);
    outln!(
        "{:<8} {:>24} {:>24} {:>24} {:>20} {:>24} {:>24} {:>9}",
        "MODEL",
        "SEED",
        "ENDPOINTS",
        "UNSPENT",
        "FEES",
        "COINJOINS",
        "BEYOND",
        "ENDPOINTS#"
    );
    for t in traces {
        let s = &t.summary;
        let b = &s.beyond;
        let beyond = trace_file::Amount::sum([b.max_hops, b.min_amount, b.time_limit, b.max_txs])
            .map_or_else(|e| e.to_string(), n);
        outln!(
            "{:<8} {:>24} {:>24} {:>24} {:>20} {:>24} {:>24} {:>9}",
            t.params.model,
            n(s.seed_value),
            n(s.endpoints),
            n(s.unspent),
            n(s.fees),
            n(s.coinjoins),
            beyond,
            t.endpoints.len()
        );
    }
}
