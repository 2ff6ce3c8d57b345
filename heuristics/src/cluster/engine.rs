//! One pass over the ledger's transactions in id order: CoinJoin detection,
//! multi-input links, change votes and links, the collapse guard, and (for
//! a build, through its [`Recorder`]) the per-address facts that cluster
//! statistics are made of and the evidence of every merge.

use std::collections::BTreeMap;

use chain_adapters::ledger::{AddrId, AddressKind, Chain, TxId, TxRecord};
use foldhash::HashMap;

use super::records::Recorder;
use super::{Conflict, Evidence, Level, Link, Rule, UnionFind, MULTI_INPUT_PRIOR};
use crate::change::{self, ChangeDecision, HeuristicSet, Spender, TxContext, Vote, VotePolicy};
use crate::coinjoin::{self, CoinJoin};
use crate::deposit::{DepositAddress, DEPOSIT_PRIOR};

/// Sees every transaction the engine judges (evaluation hooks in here).
pub trait Observer {
    /// `tx` was judged: its CoinJoin detection, change votes and decision.
    fn judged(
        &mut self,
        id: TxId,
        tx: &TxRecord,
        coinjoin: Option<&CoinJoin>,
        votes: &[Vote],
        decision: Option<&ChangeDecision>,
    );
}

/// An observer that ignores everything.
pub struct NoObserver;

impl Observer for NoObserver {
    fn judged(
        &mut self,
        _: TxId,
        _: &TxRecord,
        _: Option<&CoinJoin>,
        _: &[Vote],
        _: Option<&ChangeDecision>,
    ) {
    }
}

/// Clustering state while transactions are fed in. Its memory grows with
/// the chain only by the union-find's flat arrays and one byte of address
/// kind per address; a recording engine (a build) sends facts, links and
/// CoinJoins to sorted runs on disk (its recorder).
pub struct Engine<'s> {
    /// Clustering level.
    pub level: Level,
    /// Change vote policy (used at [`Level::CospendChange`]).
    pub policy: VotePolicy,
    pub(crate) uf: UnionFind,
    kinds: Vec<Option<AddressKind>>,
    /// Service of each cluster root that has one (tagged addresses only).
    service: HashMap<AddrId, u32>,
    labels: Vec<String>,
    /// Merges made, per rule (by [`Rule`] number).
    pub merges: [u64; Rule::ALL.len()],
    /// Merges refused by the collapse guard.
    pub conflicts: Vec<Conflict>,
    /// Detected CoinJoins, per protocol.
    pub coinjoins: BTreeMap<&'static str, u64>,
    /// Next transaction id to process.
    pub next_tx: TxId,
    pub(crate) recorder: Option<Recorder<'s>>,
    votes: Vec<Vote>,
}

impl<'s> Engine<'s> {
    /// An engine with no addresses, starting at transaction 0, recording
    /// nothing but the clusters (evaluation).
    pub fn new(level: Level, policy: VotePolicy) -> Self {
        Engine {
            level,
            policy,
            uf: UnionFind::default(),
            kinds: Vec::new(),
            service: HashMap::default(),
            labels: Vec::new(),
            merges: [0; Rule::ALL.len()],
            conflicts: Vec::new(),
            coinjoins: BTreeMap::new(),
            next_tx: 0,
            recorder: None,
            votes: Vec::new(),
        }
    }

    /// An engine that records facts, links and CoinJoins for a build,
    /// continuing from `uf` (empty for a full build) at `next_tx`.
    pub(crate) fn recording(
        level: Level,
        policy: VotePolicy,
        uf: UnionFind,
        next_tx: TxId,
        recorder: Recorder<'s>,
    ) -> Self {
        let mut e = Engine::new(level, policy);
        e.kinds = vec![None; uf.len()];
        e.uf = uf;
        e.next_tx = next_tx;
        e.recorder = Some(recorder);
        e
    }

    /// Number of addresses seen.
    pub fn addresses(&self) -> usize {
        self.uf.len()
    }

    /// The cluster id of every address.
    pub fn clusters(&mut self) -> Vec<AddrId> {
        self.uf.clusters()
    }

    /// Marks addresses as belonging to services (from attribution tags):
    /// the collapse guard refuses merges between two different services.
    /// Clusters that already hold two services are reported as conflicts.
    pub fn set_services(&mut self, tagged: &[(AddrId, String)]) {
        for (a, label) in tagged {
            if *a as usize >= self.uf.len() {
                continue;
            }
            let idx = match self.labels.iter().position(|l| l == label) {
                Some(i) => i as u32,
                None => {
                    self.labels.push(label.clone());
                    (self.labels.len() - 1) as u32
                }
            };
            let r = self.uf.find(*a);
            match self.service.get(&r).copied() {
                None => {
                    self.service.insert(r, idx);
                }
                Some(s) if s != idx => {
                    let other = self.uf.cluster(*a);
                    self.conflicts.push(Conflict {
                        a: other,
                        b: *a,
                        service_a: self.labels[s as usize].clone(),
                        service_b: label.clone(),
                        evidence: None,
                    });
                }
                _ => {}
            }
        }
    }

    /// Makes room for `n` addresses (e.g. the ledger's count, before
    /// [`Engine::set_services`]).
    pub fn grow(&mut self, n: usize) {
        if n > self.uf.len() {
            self.uf.grow(n);
            self.kinds.resize(n, None);
        }
    }

    fn touch(&mut self, a: AddrId, height: u32, delta: i128) {
        if let Some(r) = &mut self.recorder {
            r.touch(a, height, delta);
        }
    }

    /// Links the clusters of `a` and `b` unless they are one already or the
    /// collapse guard refuses.
    fn link(&mut self, a: AddrId, b: AddrId, evidence: Evidence) {
        let (ra, rb) = (self.uf.find(a), self.uf.find(b));
        if ra == rb {
            return;
        }
        let (sa, sb) = (
            self.service.get(&ra).copied(),
            self.service.get(&rb).copied(),
        );
        if let (Some(sa), Some(sb)) = (sa, sb) {
            if sa != sb {
                self.conflicts.push(Conflict {
                    a,
                    b,
                    service_a: self.labels[sa as usize].clone(),
                    service_b: self.labels[sb as usize].clone(),
                    evidence: Some(evidence),
                });
                return;
            }
        }
        let r = self.uf.union_roots(ra, rb);
        let gone = if r == ra { rb } else { ra };
        self.service.remove(&gone);
        if let Some(s) = sa.or(sb) {
            self.service.insert(r, s);
        }
        self.merges[evidence.rule as usize] += 1;
        if let Some(rec) = &mut self.recorder {
            rec.link(&Link { a, b, evidence });
        }
    }

    /// Links an exchange deposit address to the wallet it sweeps into, and
    /// the addresses that paid into it to each other (one customer).
    pub fn link_deposit_address(&mut self, d: &DepositAddress) {
        let evidence = |tx, rule| Evidence {
            tx,
            rule,
            heuristics: HeuristicSet(0),
            confidence: DEPOSIT_PRIOR,
        };
        if let Some(s) = d.sweeps.first() {
            self.link(s.to, d.addr, evidence(s.tx, Rule::DepositAddress));
        }
        let payers = d.depositors();
        if let Some((first, rest)) = payers.split_first() {
            for p in rest {
                self.link(first.from, p.from, evidence(p.tx, Rule::DepositReuse));
            }
        }
    }

    /// Judges transaction `id` (ids must come in order).
    pub fn process(
        &mut self,
        id: TxId,
        tx: &TxRecord,
        spenders: &[Spender],
        observer: &mut dyn Observer,
    ) {
        self.next_tx = id + 1;
        let max = tx
            .outputs
            .iter()
            .flat_map(|o| [o.addr, o.from])
            .chain(tx.inputs.iter().map(|i| i.addr))
            .flatten()
            .max();
        if let Some(m) = max {
            self.grow(m as usize + 1);
        }
        let height = u32::try_from(tx.height).unwrap_or(u32::MAX);
        for o in tx.outputs.iter().filter(|o| o.asset == 0) {
            if let Some(a) = o.addr {
                self.kinds[a as usize].get_or_insert(o.kind);
                self.touch(a, height, o.value as i128);
            }
            if let Some(f) = o.from {
                self.touch(f, height, -(o.value as i128));
            }
        }
        for i in &tx.inputs {
            if let Some(a) = i.addr {
                self.touch(a, height, -(i.value as i128));
            }
        }
        if tx.chain == Chain::Ethereum {
            // Account chains have no co-spending or change: their links
            // come from deposit addresses (see `link_deposit_address`).
            observer.judged(id, tx, None, &[], None);
            return;
        }
        let detected = coinjoin::detect(tx);
        if let Some(cj) = detected {
            *self.coinjoins.entry(cj.kind.name()).or_insert(0) += 1;
            if let Some(r) = &mut self.recorder {
                r.coinjoin(id, &cj);
            }
        }
        self.votes.clear();
        let mut decision = None;
        let first = tx.inputs.iter().find_map(|i| i.addr);
        let multi_party = detected.is_some_and(|c| c.kind.multi_party());
        if let (Some(first), false) = (first, multi_party) {
            let evidence = Evidence {
                tx: id,
                rule: Rule::MultiInput,
                heuristics: HeuristicSet(0),
                confidence: MULTI_INPUT_PRIOR,
            };
            for a in tx.inputs.iter().filter_map(|i| i.addr) {
                if a != first {
                    self.link(first, a, evidence);
                }
            }
            if self.level == Level::CospendChange {
                decision = self.change(id, tx, first, spenders);
            }
        }
        observer.judged(id, tx, detected.as_ref(), &self.votes, decision.as_ref());
    }

    fn change(
        &mut self,
        id: TxId,
        tx: &TxRecord,
        sender: AddrId,
        spenders: &[Spender],
    ) -> Option<ChangeDecision> {
        let input_kinds: Vec<AddressKind> = tx
            .inputs
            .iter()
            .map(|i| {
                i.addr
                    .and_then(|a| self.kinds[a as usize])
                    .unwrap_or(AddressKind::NonStandard)
            })
            .collect();
        let ctx = TxContext {
            tx,
            input_kinds: &input_kinds,
            spenders,
        };
        change::votes(&ctx, &mut self.votes);
        let decision = self.policy.decide(&self.votes)?;
        let change_addr = tx.outputs[decision.output].addr?;
        self.link(
            sender,
            change_addr,
            Evidence {
                tx: id,
                rule: Rule::Change,
                heuristics: decision.heuristics,
                confidence: decision.confidence,
            },
        );
        Some(decision)
    }
}
