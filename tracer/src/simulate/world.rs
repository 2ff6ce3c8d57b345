//! The simulated world: addresses and their owners, entities with their
//! coins, the block being assembled, and the files being written.

use std::path::Path;

use anyhow::Result;
use bitcoin::absolute::LockTime;
use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::hashes::Hash;
use bitcoin::script::Builder;
use bitcoin::transaction::Version;
use bitcoin::{
    Address, Amount, Block, BlockHash, Network, OutPoint, ScriptBuf, Sequence, Transaction, TxIn,
    TxOut, Txid, Witness,
};
use chain_adapters::bitcoin::blkwriter::{grind_pow, BlkWriter, MAX_BLK_FILE};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::keys::{AddrType, Keys};
use super::truth::{EntityKind, Purpose, Record, Role, TruthWriter};
use super::wallet::{self, spendable, Draft, Pay, Policy, Software, Utxo};

/// First block's timestamp (2025-01-01 00:00 UTC); blocks follow ~10 minutes apart.
const START_TIME: u32 = 1_735_689_600;
/// Regtest halves the subsidy every 150 blocks.
const HALVING: u32 = 150;

/// Owner and use of one simulated address.
#[derive(Clone, Copy, Debug)]
pub struct AddrInfo {
    /// Script type.
    pub ty: AddrType,
    /// Owner entity id.
    pub owner: u32,
    /// What the owner uses it for.
    pub role: Role,
    /// Customer entity for deposit, invoice and mixer addresses (`u32::MAX`: none).
    pub customer: u32,
}

/// An actor and its coins.
#[derive(Debug)]
pub struct Entity {
    /// Kind of actor.
    pub kind: EntityKind,
    /// Display name.
    pub name: String,
    /// Wallet habits.
    pub policy: Policy,
    /// Preferred address type.
    pub ty: AddrType,
    /// Spendable wallet coins.
    pub coins: Vec<Utxo>,
    /// Coins on deposit, invoice and mixer-deposit addresses, waiting to be swept.
    pub held: Vec<Utxo>,
    /// Cold-storage coins.
    pub cold: Vec<Utxo>,
    /// The receive address it hands out again (when it reuses addresses).
    pub receive: Option<u32>,
    /// Probability of handing out `receive` again instead of a fresh one.
    pub reuse: f64,
    /// A fixed change/hot address (services reuse one).
    pub hot: Option<u32>,
    /// Exchange where an individual or merchant has an account.
    pub exchange: Option<u32>,
    /// Its deposit address there.
    pub deposit: Option<u32>,
}

impl Entity {
    /// Sum of spendable wallet coins at `height`.
    pub fn balance(&self, height: u32) -> u64 {
        self.coins
            .iter()
            .filter(|u| u.spendable_at(height))
            .map(|u| u.value)
            .sum()
    }
}

/// Everything the simulation mutates.
pub struct World {
    /// The one random source (seeded).
    pub rng: ChaCha8Rng,
    /// Key material.
    pub keys: Keys,
    /// All addresses by number.
    pub addrs: Vec<AddrInfo>,
    /// All entities by id.
    pub entities: Vec<Entity>,
    /// Height of the block being assembled.
    pub height: u32,
    /// Transactions written, coinbases and genesis included.
    pub txs: u64,
    /// Outputs paid by a service (mixer, CoinJoin) for a tagged coin, not yet collected.
    pub delivered: Vec<(u64, Utxo)>,
    truth: TruthWriter,
    block: Vec<Transaction>,
    fees: u64,
    blk: BlkWriter,
    prev: BlockHash,
}

impl World {
    /// Starts the chain in `blocks_dir` (genesis written) and the truth file.
    pub fn create(blocks_dir: &Path, truth: &Path, seed: u64, rng: ChaCha8Rng) -> Result<World> {
        let mut blk = BlkWriter::create(blocks_dir, Network::Regtest, MAX_BLK_FILE)?;
        let genesis = bitcoin::constants::genesis_block(Network::Regtest);
        blk.write_block(&genesis)?;
        Ok(World {
            rng,
            keys: Keys::new(seed),
            addrs: Vec::new(),
            entities: Vec::new(),
            height: 1,
            txs: 1,
            delivered: Vec::new(),
            truth: TruthWriter::create(truth)?,
            block: Vec::new(),
            fees: 0,
            blk,
            prev: genesis.block_hash(),
        })
    }

    /// Writes a truth record.
    pub fn record(&mut self, r: &Record) -> Result<()> {
        self.truth.write(r)
    }

    /// Adds an entity (recorded in the truth file) and returns its id.
    pub fn add_entity(
        &mut self,
        kind: EntityKind,
        name: String,
        software: Software,
        ty: AddrType,
    ) -> Result<u32> {
        let id = self.entities.len() as u32;
        let policy = Policy::of(software, &mut self.rng);
        self.record(&Record::Entity {
            id,
            kind,
            name: name.clone(),
            software,
        })?;
        self.entities.push(Entity {
            kind,
            name,
            policy,
            ty,
            coins: Vec::new(),
            held: Vec::new(),
            cold: Vec::new(),
            receive: None,
            reuse: 0.0,
            hot: None,
            exchange: None,
            deposit: None,
        });
        Ok(id)
    }

    /// A fresh address of `owner` (recorded in the truth file).
    pub fn new_address(
        &mut self,
        owner: u32,
        ty: AddrType,
        role: Role,
        customer: Option<u32>,
    ) -> Result<u32> {
        let n = self.addrs.len() as u32;
        self.addrs.push(AddrInfo {
            ty,
            owner,
            role,
            customer: customer.unwrap_or(u32::MAX),
        });
        let spk = self.keys.script_pubkey(n, ty);
        let address = Address::from_script(&spk, Network::Regtest)
            .expect("single-key scripts have addresses")
            .to_string();
        let kind = self.entities[owner as usize].kind;
        self.record(&Record::Address {
            address,
            entity: owner,
            kind,
            role,
            customer,
        })?;
        Ok(n)
    }

    /// The regtest address string of address number `n`.
    pub fn address_string(&self, n: u32) -> String {
        let spk = self.keys.script_pubkey(n, self.addrs[n as usize].ty);
        Address::from_script(&spk, Network::Regtest)
            .expect("single-key scripts have addresses")
            .to_string()
    }

    /// A payment to address `n`.
    pub fn pay_to(&self, n: u32, value: u64) -> Pay {
        Pay {
            addr: n,
            ty: self.addrs[n as usize].ty,
            value,
        }
    }

    /// The address `entity` gives a payer: its reused one with its reuse
    /// probability, else a fresh one (which it may reuse later).
    pub fn receive_address(&mut self, entity: u32) -> Result<u32> {
        let e = &self.entities[entity as usize];
        if let Some(a) = e.receive {
            let reuse = e.reuse;
            if self.rng.random_bool(reuse) {
                return Ok(a);
            }
        }
        let ty = self.entities[entity as usize].ty;
        let a = self.new_address(entity, ty, Role::Receive, None)?;
        self.entities[entity as usize].receive = Some(a);
        Ok(a)
    }

    /// A fee rate from the entity's policy range.
    pub fn fee_rate(&mut self, entity: u32) -> u64 {
        let (lo, hi) = self.entities[entity as usize].policy.fee_rate;
        self.rng.random_range(lo..=hi)
    }

    /// `entity` pays `payments` from its wallet with its own coin selection
    /// and change habits. Returns the txid and outputs, or `None` when its
    /// confirmed coins do not cover the payments.
    pub fn pay(
        &mut self,
        entity: u32,
        payments: &[Pay],
        purpose: Purpose,
        cases: &[u32],
    ) -> Result<Option<(Txid, Vec<Utxo>)>> {
        let h = self.height;
        let policy = self.entities[entity as usize].policy.clone();
        let change_ty = match (policy.change_matches_payment, payments) {
            (true, [p]) => p.ty,
            _ => self.entities[entity as usize].ty,
        };
        let rate = self.fee_rate(entity);
        let avail = spendable(&self.entities[entity as usize].coins, h, usize::MAX);
        let Some(sel) = wallet::select(&policy, &avail, payments, change_ty, rate, &mut self.rng)
        else {
            return Ok(None);
        };
        let inputs: Vec<Utxo> = sel.into_iter().map(|i| avail[i].clone()).collect();
        self.take_coins(entity, &inputs);
        let change = self.change_address(entity, &policy, change_ty, &inputs)?;
        let d = self.draft(&policy, inputs, payments, Some(change), rate);
        self.commit(&d, &policy, purpose, entity, cases).map(Some)
    }

    /// Where `entity`'s change goes: its hot address, the first input's
    /// address (legacy habit), or a fresh change address.
    fn change_address(
        &mut self,
        entity: u32,
        policy: &Policy,
        ty: AddrType,
        inputs: &[Utxo],
    ) -> Result<Pay> {
        let a = match self.entities[entity as usize].hot {
            Some(hot) => hot,
            None if policy.change_to_input => inputs[0].addr,
            None => self.new_address(entity, ty, Role::Change, None)?,
        };
        Ok(self.pay_to(a, 0))
    }

    /// Orders a transaction with the policy (scripts come from the keys).
    pub fn draft(
        &mut self,
        policy: &Policy,
        inputs: Vec<Utxo>,
        payments: &[Pay],
        change: Option<Pay>,
        rate: u64,
    ) -> Draft {
        let keys = &self.keys;
        let script = |n: u32, ty: AddrType| keys.script_pubkey(n, ty);
        wallet::draft(
            policy,
            inputs,
            payments,
            change,
            rate,
            &script,
            &mut self.rng,
        )
    }

    /// Removes spent coins from an entity's wallet, held and cold coins.
    pub fn take_coins(&mut self, entity: u32, spent: &[Utxo]) {
        let ops: std::collections::BTreeSet<OutPoint> = spent.iter().map(|u| u.op).collect();
        let e = &mut self.entities[entity as usize];
        e.coins.retain(|u| !ops.contains(&u.op));
        e.held.retain(|u| !ops.contains(&u.op));
        e.cold.retain(|u| !ops.contains(&u.op));
    }

    /// Serializes a draft into the block being assembled, records it, and
    /// credits its outputs to their owners (criminal and pre-mix outputs are
    /// left to their callers). Returns the txid and the new outputs.
    pub fn commit(
        &mut self,
        d: &Draft,
        policy: &Policy,
        purpose: Purpose,
        entity: u32,
        cases: &[u32],
    ) -> Result<(Txid, Vec<Utxo>)> {
        let lock_time = if policy.anti_fee_sniping {
            let back = if self.rng.random_bool(0.1) {
                self.rng.random_range(0..100)
            } else {
                0
            };
            LockTime::from_height((self.height - 1).saturating_sub(back)).expect("height locktime")
        } else {
            LockTime::ZERO
        };
        let sequence = Sequence(policy.sequence());
        let input = d
            .inputs
            .iter()
            .map(|u| {
                let (script_sig, witness) = self.keys.spend(u.addr, u.ty);
                TxIn {
                    previous_output: u.op,
                    script_sig,
                    sequence,
                    witness,
                }
            })
            .collect();
        let output = d
            .outputs
            .iter()
            .map(|p| TxOut {
                value: Amount::from_sat(p.value),
                script_pubkey: self.keys.script_pubkey(p.addr, p.ty),
            })
            .collect();
        let tx = Transaction {
            version: Version(policy.version),
            lock_time,
            input,
            output,
        };
        let total_in: u64 = d.inputs.iter().map(|u| u.value).sum();
        let total_out: u64 = d.outputs.iter().map(|p| p.value).sum();
        assert!(
            total_in >= total_out,
            "simulator built a transaction creating money"
        );
        self.fees += total_in - total_out;
        let txid = tx.compute_txid();
        self.record(&Record::Tx {
            txid: txid.to_string(),
            height: self.height,
            purpose,
            entity,
            change: d.change.map(|c| c as u32).into_iter().collect(),
            cases: cases.to_vec(),
        })?;
        self.block.push(tx);
        self.txs += 1;
        let outs: Vec<Utxo> = d
            .outputs
            .iter()
            .enumerate()
            .map(|(vout, p)| Utxo {
                op: OutPoint::new(txid, vout as u32),
                value: p.value,
                addr: p.addr,
                ty: p.ty,
                height: self.height,
                coinbase: false,
            })
            .collect();
        for u in &outs {
            self.credit(u.clone());
        }
        Ok((txid, outs))
    }

    /// Puts a new coin where its owner keeps it.
    fn credit(&mut self, u: Utxo) {
        let info = self.addrs[u.addr as usize];
        let e = &mut self.entities[info.owner as usize];
        if e.kind == EntityKind::CriminalGroup || info.role == Role::Premix {
            return;
        }
        match info.role {
            Role::Deposit | Role::Invoice | Role::MixerDeposit => e.held.push(u),
            Role::Cold => e.cold.push(u),
            _ => e.coins.push(u),
        }
    }

    /// Number of transactions in the block being assembled.
    pub fn block_len(&self) -> usize {
        self.block.len()
    }

    /// Closes the block: coinbase to `pool` (subsidy + fees, BIP34 height,
    /// witness commitment), merkle root, proof of work; writes it.
    pub fn end_block(&mut self, pool: u32) -> Result<()> {
        let h = self.height;
        let subsidy = if h / HALVING >= 64 {
            0
        } else {
            50_0000_0000u64 >> (h / HALVING)
        };
        let addr = self.entities[pool as usize]
            .hot
            .expect("pools are created with their payout address");
        let segwit = self
            .block
            .iter()
            .any(|t| t.input.iter().any(|i| !i.witness.is_empty()));
        let pay = self.pay_to(addr, subsidy + self.fees);
        let tag = format!("/sim pool {pool}/");
        let mut coinbase = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: Builder::new()
                    .push_int(h as i64)
                    .push_slice(
                        <&bitcoin::script::PushBytes>::try_from(tag.as_bytes()).expect("short tag"),
                    )
                    .into_script(),
                sequence: Sequence::MAX,
                witness: if segwit {
                    Witness::from_slice(&[[0u8; 32]])
                } else {
                    Witness::new()
                },
            }],
            output: vec![TxOut {
                value: Amount::from_sat(pay.value),
                script_pubkey: self.keys.script_pubkey(addr, pay.ty),
            }],
        };
        let mut txdata = Vec::with_capacity(self.block.len() + 1);
        txdata.push(coinbase.clone());
        txdata.append(&mut self.block);
        let mut block = Block {
            header: Header {
                version: BlockVersion::from_consensus(0x2000_0000),
                prev_blockhash: self.prev,
                merkle_root: bitcoin::TxMerkleNode::all_zeros(),
                time: START_TIME + (h - 1) * 600 + self.rng.random_range(0..300),
                bits: bitcoin::constants::genesis_block(Network::Regtest)
                    .header
                    .bits,
                nonce: 0,
            },
            txdata,
        };
        if segwit {
            let root = block.witness_root().expect("block has a coinbase");
            let commitment = Block::compute_witness_commitment(&root, &[0u8; 32]);
            let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
            script.extend_from_slice(commitment.as_byte_array());
            coinbase.output.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: ScriptBuf::from_bytes(script),
            });
            block.txdata[0] = coinbase;
        }
        block.header.merkle_root = block.compute_merkle_root().expect("block has a coinbase");
        grind_pow(&mut block.header);
        let txid = block.txdata[0].compute_txid();
        self.record(&Record::Tx {
            txid: txid.to_string(),
            height: h,
            purpose: Purpose::Coinbase,
            entity: pool,
            change: Vec::new(),
            cases: Vec::new(),
        })?;
        self.blk.write_block(&block)?;
        self.entities[pool as usize].coins.push(Utxo {
            op: OutPoint::new(txid, 0),
            value: pay.value,
            addr,
            ty: pay.ty,
            height: h,
            coinbase: true,
        });
        self.prev = block.block_hash();
        self.fees = 0;
        self.txs += 1;
        self.height += 1;
        Ok(())
    }

    /// Flushes the block files and the truth file; returns how many blk files were written.
    pub fn finish(self) -> Result<u32> {
        let files = self.blk.finish()?;
        self.truth.finish()?;
        Ok(files)
    }
}
