//! A simulated Bitcoin economy with ground truth: real regtest blocks in
//! Bitcoin Core's `blk*.dat` format plus `truth.jsonl`, who owns every
//! address and what every transaction was for, including fraud cases and
//! where their proceeds cashed out. Same seed and scenario → same bytes.
//!
//! Heuristics never read the truth; evaluation code compares against it.

pub mod coinjoin;
pub mod crime;
pub mod economy;
pub mod keys;
pub mod scenario;
pub mod tags;
pub mod truth;
pub mod wallet;
pub mod world;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use coinjoin::CoinJoins;
use crime::Crime;
use economy::Economy;
use scenario::Scenario;
use truth::{Record, TRUTH_FORMAT};
use world::World;

/// Blocks before the first coinbase can be spent (regtest maturity).
pub const MATURITY: u32 = 100;

/// What to simulate and where to write it.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Output directory (gets `blocks/`, `truth.jsonl` and `tags.yaml`).
    pub out: PathBuf,
    /// Random seed.
    pub seed: u64,
    /// Preset: small, medium, large (≈ 1 M transactions), xlarge (≈ 5 M), xxlarge (≈ 20 M).
    pub preset: String,
    /// JSON file overriding preset fields.
    pub scenario: Option<PathBuf>,
}

/// What was written.
#[derive(Clone, Debug, Serialize)]
pub struct SimSummary {
    /// Directory of the blk files.
    pub blocks_dir: PathBuf,
    /// The truth file.
    pub truth: PathBuf,
    /// TagPack of the services' wallets (what investigators would know).
    pub tags: PathBuf,
    /// Tags in it.
    pub tag_count: u32,
    /// Blocks including genesis; the tip height is one less.
    pub blocks: u32,
    /// Transactions including coinbases.
    pub txs: u64,
    /// Addresses.
    pub addresses: u64,
    /// Entities.
    pub entities: u32,
    /// Fraud cases.
    pub cases: u32,
    /// Group coins still in flight at the end (not cashed out).
    pub in_flight: u32,
    /// blk files written.
    pub blk_files: u32,
    /// Bytes of blk files.
    pub blk_bytes: u64,
}

/// Runs a simulation.
pub fn simulate(o: &SimOptions) -> Result<SimSummary> {
    let mut rng = ChaCha8Rng::seed_from_u64(o.seed);
    let mut scenario = Scenario::preset(&o.preset, &mut rng)?;
    if let Some(f) = &o.scenario {
        scenario = scenario.merge_file(f)?;
    }
    scenario.check().with_context(|| match &o.scenario {
        Some(f) => format!("scenario {}", f.display()),
        None => format!("preset {}", o.preset),
    })?;
    let blocks_dir = o.out.join("blocks");
    refuse_existing(&blocks_dir)?;
    let truth_path = o.out.join("truth.jsonl");
    let mut w = World::create(&blocks_dir, &truth_path, o.seed, rng)?;
    w.record(&Record::Run {
        format: TRUTH_FORMAT,
        seed: o.seed,
        preset: o.preset.clone(),
        network: "regtest".to_string(),
        scenario: serde_json::to_value(&scenario)?,
    })?;
    let mut eco = Economy::create(&mut w, &scenario)?;
    let mut cj = CoinJoins::create(&mut w)?;
    let first = MATURITY + 1;
    let last = MATURITY + scenario.blocks;
    let mut crime = Crime::create(&mut w, &eco, &scenario, first, last)?;
    let weights: Vec<u32> = (1..=eco.pools.len() as u32).collect();
    let total_weight: u32 = weights.iter().sum();
    for h in 1..=last {
        if h >= first {
            crime.step(&mut w, &mut eco, &mut cj)?;
            cj.step(&mut w, &eco)?;
            eco.step(&mut w, scenario.txs_per_block)?;
        }
        let mut pick = w.rng.random_range(0..total_weight);
        let mut pool = eco.pools[0];
        for (i, wgt) in weights.iter().enumerate() {
            if pick < *wgt {
                pool = eco.pools[i];
                break;
            }
            pick -= wgt;
        }
        w.end_block(pool)?;
    }
    let in_flight = crime.in_flight() as u32;
    let cases: u32 = scenario.groups.iter().map(|g| g.cases.len() as u32).sum();
    crime.finish(&mut w)?;
    let tags_path = o.out.join("tags.yaml");
    let tag_count = tags::write_tagpack(&w, &tags_path)?;
    let summary = Record::Summary {
        blocks: last + 1,
        txs: w.txs,
        addresses: w.addrs.len() as u64,
        entities: w.entities.len() as u32,
        cases,
    };
    w.record(&summary)?;
    let (txs, addresses, entities) = (w.txs, w.addrs.len() as u64, w.entities.len() as u32);
    let blk_files = w.finish()?;
    Ok(SimSummary {
        blk_bytes: blk_bytes(&blocks_dir)?,
        blocks_dir,
        truth: truth_path,
        tags: tags_path,
        tag_count,
        blocks: last + 1,
        txs,
        addresses,
        entities,
        cases,
        in_flight,
        blk_files,
    })
}

/// Refuses to write into a blocks directory that already holds files (a
/// shorter run would leave stale blk files behind).
fn refuse_existing(dir: &Path) -> Result<()> {
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        if entries.next().is_some() {
            bail!(
                "{} is not empty; choose a new --out directory",
                dir.display()
            );
        }
    }
    Ok(())
}

fn blk_bytes(dir: &Path) -> Result<u64> {
    let mut n = 0;
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        n += e?.metadata()?.len();
    }
    Ok(n)
}
