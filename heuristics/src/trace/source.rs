//! What a trace reads: transactions, block times, spends, address display,
//! cluster membership and attribution, each looked up once and cached.

use std::collections::BTreeMap;
use std::rc::Rc;

use chain_adapters::ledger::{
    AddrId, AddressKey, AddressKind, Chain, OutRef, Output, SpentBy, TxId, TxRecord,
};

use chain_adapters::query::LedgerView;
use chain_adapters::store::Store;
use trace_file::{Amount, EndpointRule, Tag};

use super::{Granularity, HashMap};
use crate::attribution::{self, service_of};
use crate::change::{self, ChangeDecision, Spender, TxContext, VotePolicy};
use crate::cluster::persist::{load_checkpoint, load_cluster_of};
use crate::cluster::{self, Checkpoint, Level};
use crate::deposit::Sweep;
use crate::error::{Error, Result};
use crate::store::AnalysisStore;
use crate::tags::TagClass;

/// A trace node: an address id, or the id of a cluster (its smallest
/// member address id).
pub type NodeId = AddrId;

/// One line of a node's history: what it received and sent in a transaction.
pub type Line = (TxId, Amount, Amount);

/// Change outputs are looked for only in transactions with at most this
/// many addressed outputs: peel chains and wallet payments have few; batch
/// payouts (each output needing a look-up of its spender) are not peel steps.
const CHANGE_MAX_OUTPUTS: usize = 8;

/// What a trace needs of an address, read once.
struct AddrInfo {
    shown: String,
    kind: AddressKind,
    chain: Chain,
}

/// What the tags say about a node.
#[derive(Debug, Clone)]
pub struct Attribution {
    /// The service (actor, else label) if a tag marks a custodial service.
    pub service: Option<String>,
    /// Broad class of the strongest tag.
    pub class: TagClass,
    /// The tags, strongest first.
    pub tags: Vec<Tag>,
}

/// Cached access to the ledger and analysis data for one trace.
pub struct Source<'a> {
    /// The ledger.
    pub store: &'a Store,
    /// Address display.
    pub view: LedgerView<'a>,
    analysis: Option<&'a AnalysisStore>,
    /// Node granularity.
    pub granularity: Granularity,
    /// The cluster build used (cluster granularity).
    pub checkpoint: Option<Checkpoint>,
    txs: HashMap<TxId, Rc<TxRecord>>,
    spends: HashMap<TxId, Rc<Vec<Option<SpentBy>>>>,
    /// Block times by height.
    blocks: HashMap<u64, u64>,
    nodes: HashMap<AddrId, NodeId>,
    addrs: HashMap<AddrId, Rc<AddrInfo>>,
    attribution: HashMap<NodeId, Option<Rc<Attribution>>>,
    exchanges: Option<Rc<std::collections::BTreeMap<AddrId, String>>>,
    /// Per address, its sweeps as a deposit address.
    sweeps: HashMap<AddrId, Rc<Vec<Sweep>>>,
}

impl<'a> Source<'a> {
    /// A source over `store` with tags and clusters from `analysis` (if
    /// any). Cluster granularity needs a cluster build made with the
    /// current tags.
    pub fn new(
        store: &'a Store,
        analysis: Option<&'a AnalysisStore>,
        granularity: Granularity,
    ) -> Result<Source<'a>> {
        let view = LedgerView::new(store)?;
        let checkpoint = match (granularity, analysis) {
            (Granularity::Address, _) => None,
            (Granularity::Cluster(level), None) => return Err(not_built(level)),
            (Granularity::Cluster(level), Some(a)) => {
                let cp = load_checkpoint(a, level)?.ok_or_else(|| not_built(level))?;
                if cp.tags_generation != attribution::generation(a)? {
                    return Err(Error::Usage(format!(
                        "tags were imported after the last `cluster build --level {}`; \
                         rebuild the clusters so they use the current tags",
                        level.name()
                    )));
                }
                Some(cp)
            }
        };
        Ok(Source {
            store,
            view,
            analysis,
            granularity,
            checkpoint,
            txs: HashMap::default(),
            spends: HashMap::default(),
            blocks: HashMap::default(),
            nodes: HashMap::default(),
            addrs: HashMap::default(),
            attribution: HashMap::default(),
            exchanges: None,
            sweeps: HashMap::default(),
        })
    }

    /// Transaction `id`.
    pub fn tx(&mut self, id: TxId) -> Result<Rc<TxRecord>> {
        if let Some(t) = self.txs.get(&id) {
            return Ok(t.clone());
        }
        let t = Rc::new(
            self.store
                .tx(id)?
                .ok_or_else(|| missing(self.store, "tx", id))?,
        );
        self.txs.insert(id, t.clone());
        Ok(t)
    }

    /// Whether transaction `id` has been read.
    pub fn has_tx(&self, id: TxId) -> bool {
        self.txs.contains_key(&id)
    }

    /// Reads the transactions among `ids` not read yet, in one batched read.
    pub fn prefetch_txs(&mut self, ids: impl IntoIterator<Item = TxId>) -> Result<()> {
        let wanted = not_cached(ids, &self.txs);
        for (id, t) in wanted.iter().zip(self.store.txs(&wanted)?) {
            let t = t.ok_or_else(|| missing(self.store, "tx", id))?;
            self.txs.insert(*id, Rc::new(t));
        }
        Ok(())
    }

    /// Reads the addresses among `ids` not read yet, in one batched read.
    pub fn prefetch_addrs(&mut self, ids: impl IntoIterator<Item = AddrId>) -> Result<()> {
        let wanted = not_cached(ids, &self.addrs);
        for (a, key) in wanted.iter().zip(self.store.addresses(&wanted)?) {
            let key = key.ok_or_else(|| missing(self.store, "address", a))?;
            self.addrs.insert(*a, Rc::new(self.info(&key)));
        }
        Ok(())
    }

    /// Reads ahead what judging transactions `ids` will need, in one batched
    /// read per column family instead of a few per transaction: the
    /// transactions and where their outputs were spent.
    pub fn prefetch(&mut self, ids: &[TxId], change: bool) -> Result<()> {
        self.prefetch_txs(ids.iter().copied())?;
        let wanted = not_cached(ids.iter().copied(), &self.spends)
            .into_iter()
            .map(|id| (id, self.txs[&id].outputs.len()))
            .collect();
        self.read_spends(wanted)?;
        if !change {
            return Ok(());
        }
        let judged: Vec<TxId> = ids
            .iter()
            .copied()
            .filter(|id| change_eligible(&self.txs[id]))
            .collect();
        let inputs: Vec<AddrId> = judged
            .iter()
            .flat_map(|id| self.txs[id].inputs.iter().filter_map(|i| i.addr))
            .collect();
        self.prefetch_addrs(inputs)?;
        let spenders: Vec<TxId> = judged
            .iter()
            .flat_map(|id| self.spends[id].iter().flatten().map(|s| s.tx))
            .collect();
        self.prefetch_txs(spenders)
    }

    /// Reads where every output of each `(transaction, output count)` was
    /// spent, in one pass of a ledger iterator.
    fn read_spends(&mut self, txs: Vec<(TxId, usize)>) -> Result<()> {
        let found = self.store.spends_of(&txs)?;
        for ((id, _), s) in txs.into_iter().zip(found) {
            self.spends.insert(id, Rc::new(s));
        }
        Ok(())
    }

    /// Block time (unix seconds) at `height` of `chain`.
    pub fn time(&mut self, chain: Chain, height: u64) -> Result<u64> {
        if let Some(&t) = self.blocks.get(&height) {
            return Ok(t);
        }
        let b = self
            .store
            .block(chain, height)?
            .ok_or_else(|| missing(self.store, "block", height))?;
        self.blocks.insert(height, b.time);
        Ok(b.time)
    }

    /// Where each output of transaction `id` was spent.
    pub fn spends(&mut self, id: TxId, tx: &TxRecord) -> Result<Rc<Vec<Option<SpentBy>>>> {
        if !self.spends.contains_key(&id) {
            self.read_spends(vec![(id, tx.outputs.len())])?;
        }
        Ok(self.spends[&id].clone())
    }

    /// How address `a` is displayed.
    pub fn show(&mut self, a: AddrId) -> Result<String> {
        Ok(self.addr(a)?.shown.clone())
    }

    /// Address `a`'s display form, script kind and chain (one read each).
    fn addr(&mut self, a: AddrId) -> Result<Rc<AddrInfo>> {
        if let Some(i) = self.addrs.get(&a) {
            return Ok(i.clone());
        }
        let key = self
            .store
            .address(a)?
            .ok_or_else(|| missing(self.store, "address", a))?;
        let info = Rc::new(self.info(&key));
        self.addrs.insert(a, info.clone());
        Ok(info)
    }

    fn info(&self, key: &AddressKey) -> AddrInfo {
        AddrInfo {
            shown: self.view.show(key),
            kind: key.kind,
            chain: key.chain,
        }
    }

    /// The level and analysis store when node `n` is a cluster of the build
    /// (addresses after the build are single-address nodes).
    fn clustered(&self, n: NodeId) -> Option<(Level, &'a AnalysisStore)> {
        let covered = self.checkpoint.as_ref().map_or(0, |c| c.addresses);
        match (self.level(), self.analysis) {
            (Some(level), Some(analysis)) if n < covered => Some((level, analysis)),
            _ => None,
        }
    }

    /// The node address `a` belongs to.
    pub fn node(&mut self, a: AddrId) -> Result<NodeId> {
        let (Some((_, analysis)), Some(cp)) = (self.clustered(a), &self.checkpoint) else {
            return Ok(a);
        };
        if let Some(&n) = self.nodes.get(&a) {
            return Ok(n);
        }
        let n = load_cluster_of(analysis, cp, a)?.unwrap_or(a);
        self.nodes.insert(a, n);
        Ok(n)
    }

    /// The node of address `a` if already looked up (or trivially known).
    pub fn cached_node(&self, a: AddrId) -> Option<NodeId> {
        match self.clustered(a) {
            None => Some(a),
            Some(_) => self.nodes.get(&a).copied(),
        }
    }

    /// What node `n` received and sent of `asset` per transaction, in
    /// chain order (all members' history for a cluster; on account chains
    /// the ether sent includes fees).
    pub fn history(&mut self, n: NodeId, asset: u32) -> Result<Vec<Line>> {
        let members = match self.clustered(n) {
            Some((level, analysis)) => cluster::members(analysis, level, n, 0, 0)?,
            None => vec![n],
        };
        let mut lines: BTreeMap<TxId, (Amount, Amount)> = BTreeMap::new();
        for m in members {
            for e in self
                .store
                .history(m)?
                .into_iter()
                .filter(|e| e.asset == asset)
            {
                let l = lines.entry(e.tx).or_default();
                l.0.add_assign(Amount::new(e.received))?;
                l.1.add_assign(Amount::new(e.sent))?;
            }
        }
        Ok(lines.into_iter().map(|(t, (r, s))| (t, r, s)).collect())
    }

    /// How many addresses node `n`'s cluster has (`None` at address level;
    /// 1 for an address the build did not cover).
    pub fn cluster_size(&mut self, n: NodeId) -> Result<Option<u32>> {
        if self.level().is_none() {
            return Ok(None);
        }
        Ok(Some(match self.clustered(n) {
            Some((level, analysis)) => cluster::stats(analysis, level, n)?.map_or(1, |s| s.size),
            None => 1,
        }))
    }

    /// Whether address `a` is a contract (Ethereum: it created a contract,
    /// emitted a log or made an internal call — code, not a person).
    pub fn is_contract(&mut self, a: AddrId) -> Result<bool> {
        if self.addr(a)?.chain != Chain::Ethereum {
            return Ok(false);
        }
        Ok(self.store.contract_mark(a)?.is_some())
    }

    /// The sweeps by which `addr` acts as an exchange's deposit address
    /// ([`crate::deposit`]; none without tags).
    fn sweeps(&mut self, addr: AddrId) -> Result<Rc<Vec<Sweep>>> {
        if let Some(s) = self.sweeps.get(&addr) {
            return Ok(Rc::clone(s));
        }
        let Some(analysis) = self.analysis else {
            return Ok(Rc::default());
        };
        let exchanges = match &self.exchanges {
            Some(e) => Rc::clone(e),
            None => {
                let e = Rc::new(crate::deposit::exchange_wallets(analysis, &self.view)?);
                self.exchanges = Some(Rc::clone(&e));
                e
            }
        };
        let params = crate::deposit::DepositParams::default();
        let sweeps = Rc::new(crate::deposit::sweeps_of(
            self.store, addr, &exchanges, &params,
        )?);
        self.sweeps.insert(addr, Rc::clone(&sweeps));
        Ok(sweeps)
    }

    /// Whether `addr`, in transaction `tx`, sweeps into an exchange wallet
    /// as that exchange's deposit address.
    pub fn deposit_sweep(&mut self, addr: AddrId, tx: TxId) -> Result<bool> {
        Ok(self.sweeps(addr)?.iter().any(|s| s.tx == tx))
    }

    /// The sweep by which deposit address `addr` forwarded the deposit it
    /// received in transaction `tx`, if it is a deposit address and did.
    pub fn sweep_of_deposit(&mut self, addr: AddrId, tx: TxId) -> Result<Option<TxId>> {
        Ok(crate::deposit::sweep_of(&self.sweeps(addr)?, tx).map(|s| s.tx))
    }

    /// What the tags say about node `n` if they make it a service.
    pub fn service(&mut self, n: NodeId) -> Result<Option<Rc<Attribution>>> {
        Ok(self.attribution(n)?.filter(|a| a.service.is_some()))
    }

    /// The endpoint rule for service `attr` reached at address `addr`:
    /// `tagged_address` when the address itself carries a tag, else
    /// `tagged_cluster` (a member of its cluster does).
    pub fn tag_rule(&mut self, attr: &Attribution, addr: AddrId) -> Result<EndpointRule> {
        let shown = attribution::canonical_address(&self.show(addr)?);
        Ok(
            if attr
                .tags
                .iter()
                .any(|t| attribution::canonical_address(&t.address) == shown)
            {
                EndpointRule::TaggedAddress
            } else {
                EndpointRule::TaggedCluster
            },
        )
    }

    /// The output a seed names, or a usage error if it has no such output.
    pub fn seed_output(&mut self, out: OutRef) -> Result<Output> {
        self.tx(out.tx)?
            .outputs
            .get(out.vout as usize)
            .cloned()
            .ok_or_else(|| {
                Error::Usage(format!(
                    "seed output {}:{} does not exist",
                    out.tx, out.vout
                ))
            })
    }

    /// The cluster level, if nodes are clusters.
    pub fn level(&self) -> Option<Level> {
        match self.granularity {
            Granularity::Cluster(l) => Some(l),
            Granularity::Address => None,
        }
    }

    /// What the tags say about node `n` (an address, or every tagged member
    /// of a cluster).
    pub fn attribution(&mut self, n: NodeId) -> Result<Option<Rc<Attribution>>> {
        if let Some(a) = self.attribution.get(&n) {
            return Ok(a.clone());
        }
        let Some(analysis) = self.analysis else {
            return Ok(None);
        };
        let members = match self.clustered(n) {
            Some((level, analysis)) => {
                let mut m = cluster::tagged_members(analysis, level, n)?;
                if m.is_empty() {
                    m.push(n);
                }
                m
            }
            None => vec![n],
        };
        let currency = match self.addr(n)?.chain {
            Chain::Ethereum => "ETH",
            Chain::Bitcoin => "BTC",
        };
        let mut tags = Vec::new();
        for m in members {
            let shown = self.show(m)?;
            for t in attribution::tags_of(analysis, &shown)? {
                if t.currency == currency || t.network == currency {
                    tags.push((t, shown.clone()));
                }
            }
        }
        let found = (!tags.is_empty()).then(|| Rc::new(summarise(tags)));
        self.attribution.insert(n, found.clone());
        Ok(found)
    }

    /// The change output of `tx` under `policy`, if the heuristics agree on one.
    pub fn change(
        &mut self,
        id: TxId,
        tx: &TxRecord,
        policy: &VotePolicy,
    ) -> Result<Option<ChangeDecision>> {
        if !change_eligible(tx) {
            return Ok(None);
        }
        self.prefetch_addrs(tx.inputs.iter().filter_map(|i| i.addr))?;
        let mut input_kinds = Vec::with_capacity(tx.inputs.len());
        for i in &tx.inputs {
            input_kinds.push(match i.addr {
                Some(a) => self.kind(a)?,
                None => AddressKind::NonStandard,
            });
        }
        let spends = self.spends(id, tx)?;
        self.prefetch_txs(spends.iter().flatten().map(|s| s.tx))?;
        let mut spenders = Vec::with_capacity(tx.outputs.len());
        for s in spends.iter() {
            spenders.push(match s {
                Some(s) => Spender::of(&*self.tx(s.tx)?),
                None => Spender::default(),
            });
        }
        let ctx = TxContext {
            tx,
            input_kinds: &input_kinds,
            spenders: &spenders,
        };
        let mut votes = Vec::new();
        change::votes(&ctx, &mut votes);
        Ok(policy.decide(&votes))
    }

    fn kind(&mut self, a: AddrId) -> Result<AddressKind> {
        Ok(self.addr(a)?.kind)
    }
}

/// Whether the change heuristics look at `tx`: not a coinbase, with 2 to
/// [`CHANGE_MAX_OUTPUTS`] addressed outputs.
fn change_eligible(tx: &TxRecord) -> bool {
    let addressed = tx.outputs.iter().filter(|o| o.addr.is_some()).count();
    !tx.is_coinbase() && (2..=CHANGE_MAX_OUTPUTS).contains(&addressed)
}

/// The ids among `ids` that `cache` lacks, sorted, each once.
fn not_cached<K, V>(ids: impl IntoIterator<Item = K>, cache: &HashMap<K, V>) -> Vec<K>
where
    K: Copy + Ord + std::hash::Hash,
{
    let mut wanted: Vec<K> = ids.into_iter().filter(|k| !cache.contains_key(k)).collect();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

fn summarise(mut tags: Vec<(crate::tags::Tag, String)>) -> Attribution {
    // Strongest first: services before others, then confidence, then text.
    tags.sort_by(|(a, sa), (b, sb)| {
        b.is_service()
            .cmp(&a.is_service())
            .then(b.confidence_level.cmp(&a.confidence_level))
            .then(a.label.cmp(&b.label))
            .then(sa.cmp(sb))
            .then(a.pack.cmp(&b.pack))
    });
    let service = tags.iter().find_map(|(t, _)| service_of(t));
    let class = tags[0].0.class();
    let tags = tags
        .into_iter()
        .map(|(t, address)| Tag {
            address,
            label: t.label.clone(),
            class: t.class(),
            category: t.category.clone(),
            actor: t.actor.clone(),
            source: t.source.clone(),
            confidence: t.confidence.clone(),
            confidence_level: t.confidence_level,
            pack: t.pack.clone(),
        })
        .collect();
    Attribution {
        service,
        class,
        tags,
    }
}

fn not_built(level: Level) -> Error {
    Error::Usage(format!(
        "no clusters at level {} yet: run `tracer cluster build --level {}` or trace with --level address",
        level.name(),
        level.name()
    ))
}

fn missing(store: &Store, what: &str, id: impl std::fmt::Display) -> Error {
    Error::Ledger(chain_adapters::Error::Db {
        path: store.path().to_path_buf(),
        reason: format!("{what} {id} missing"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chain_adapters::bitcoin::parse_network;
    use chain_adapters::ingest::{ingest_blk_files, IngestOptions, Quiet};
    use chain_adapters::store::StoreOptions;

    /// The read-ahead keeps, for every transaction of the real blocks
    /// 0–4312, where each of its own outputs was spent: exactly what reading
    /// the outputs one by one gives.
    #[test]
    fn read_ahead_keeps_each_transactions_own_spends() {
        let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo test");
        let blk = std::path::Path::new(&manifest)
            .join("../tests/fixtures/bitcoin/blk-heights-0-4312.dat");
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), StoreOptions::default()).unwrap();
        let main = parse_network("main").unwrap();
        ingest_blk_files(&store, &blk, main, &IngestOptions::default(), &Quiet).unwrap();
        let ids: Vec<TxId> = (0..store.counters().unwrap().next_tx).collect();
        assert_eq!(ids.len(), 4371);
        let mut src = Source::new(&store, None, Granularity::Address).unwrap();
        for window in ids.chunks(64) {
            src.prefetch(window, true).unwrap();
        }
        let (mut outputs, mut spent) = (0, 0);
        for &id in &ids {
            let tx = store.tx(id).unwrap().unwrap();
            let ahead = src.spends(id, &tx).unwrap();
            assert_eq!(ahead.len(), tx.outputs.len(), "tx {id}");
            for (vout, s) in ahead.iter().enumerate() {
                let one = store
                    .spent_by(OutRef {
                        tx: id,
                        vout: vout as u32,
                    })
                    .unwrap();
                assert_eq!(*s, one, "tx {id} output {vout}");
                outputs += 1;
                spent += usize::from(s.is_some());
            }
        }
        // Block 9's coinbase output is spent by tx 170's only input.
        let tx170 = store
            .tx_id(
                Chain::Bitcoin,
                &tx_hash("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"),
            )
            .unwrap()
            .unwrap();
        let coinbase9 = store.tx(tx170).unwrap().unwrap().inputs[0].prev.unwrap().tx;
        assert_eq!(
            src.spends(coinbase9, &store.tx(coinbase9).unwrap().unwrap())
                .unwrap()[0]
                .map(|s| s.tx),
            Some(tx170)
        );
        assert!(
            spent > 0 && spent < outputs,
            "{spent} of {outputs} outputs spent"
        );
    }

    fn tx_hash(hex_txid: &str) -> chain_adapters::ledger::Hash32 {
        chain_adapters::query::parse_txid(hex_txid).unwrap()
    }
}
