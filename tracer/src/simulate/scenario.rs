//! What a simulation contains: the size of the economy and the criminal
//! groups with their cases. Presets give defaults; a scenario file (JSON)
//! overrides any top-level field.

use std::path::Path;

use anyhow::{bail, Context, Result};
use rand::seq::IndexedRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::truth::CaseKind;

pub use reports::terms::PREFECTURES;

/// How a group launders a case's proceeds after the mule hops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// A peel chain: slices to cash-out accounts, the rest to a fresh mule.
    Peel,
    /// Merge with other cases' proceeds in a collector wallet, then cash out.
    Consolidate,
    /// Consolidate, then Whirlpool (TX0 and mixes), then cash out.
    Whirlpool,
    /// Consolidate, then a Wasabi 2 round, then cash out.
    Wasabi2,
    /// Through the custodial mixer, then cash out.
    Mixer,
}

/// One fraud case.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// Prefecture handling it (one of [`PREFECTURES`]).
    pub prefecture: String,
    /// Fraud type.
    pub kind: CaseKind,
    /// Number of payments the victim makes.
    pub payments: u32,
    /// Each payment, in BTC.
    pub amount_btc: f64,
    /// Block (counted from the first spendable block) when the victim is contacted.
    #[serde(default)]
    pub start: Option<u32>,
}

/// A criminal group.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Label (for the truth file).
    pub name: String,
    /// Laundering route.
    pub route: Route,
    /// Mule hops before the route (0–5).
    pub hops: u32,
    /// Exchange deposit accounts the group cashes out to.
    pub deposit_accounts: u32,
    /// Its cases.
    pub cases: Vec<CaseSpec>,
}

/// A whole simulation.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Blocks after the 100 blocks it takes the first coinbase to mature.
    pub blocks: u32,
    /// Transactions per block the economy aims for.
    pub txs_per_block: usize,
    /// People.
    pub individuals: u32,
    /// Merchants.
    pub merchants: u32,
    /// Exchanges.
    pub exchanges: u32,
    /// Payment processors.
    pub processors: u32,
    /// Mining pools.
    pub pools: u32,
    /// Criminal groups and their cases.
    pub groups: Vec<GroupSpec>,
}

impl Scenario {
    /// The preset `name` (`small`, `medium`, `large`); its groups are drawn from `rng`.
    pub fn preset(name: &str, rng: &mut ChaCha8Rng) -> Result<Scenario> {
        let (blocks, txs_per_block, individuals, merchants, exchanges, linked, single) = match name
        {
            "small" => (150, 12, 300, 15, 3, 2, 3),
            "medium" => (700, 150, 6_000, 150, 5, 4, 6),
            "large" => (2_000, 545, 50_000, 800, 8, 8, 8),
            // The growth curves (issue 19): ≈ 5 M and ≈ 20 M transactions,
            // the same economy as `large` over more blocks and people.
            "xlarge" => (10_000, 545, 250_000, 4_000, 12, 8, 8),
            "xxlarge" => (38_500, 545, 1_000_000, 16_000, 16, 8, 8),
            other => bail!("unknown preset '{other}' (small, medium, large, xlarge, xxlarge)"),
        };
        let routes = [
            Route::Consolidate,
            Route::Peel,
            Route::Whirlpool,
            Route::Mixer,
            Route::Wasabi2,
        ];
        let mut groups = Vec::new();
        for g in 0..linked + single {
            let n_cases = if g < linked {
                rng.random_range(2..=4)
            } else {
                1
            };
            let mut prefs: Vec<&str> = Vec::new();
            while prefs.len() < n_cases {
                let p = *PREFECTURES.choose(rng).expect("prefectures");
                if !prefs.contains(&p) {
                    prefs.push(p);
                }
            }
            let cases = prefs
                .into_iter()
                .map(|p| {
                    let kind = *[
                        CaseKind::CommunicationsFraud,
                        CaseKind::InvestmentFraud,
                        CaseKind::RomanceFraud,
                    ]
                    .choose(rng)
                    .expect("kinds");
                    let amount = match kind {
                        CaseKind::CommunicationsFraud => rng.random_range(0.2..2.0),
                        CaseKind::InvestmentFraud => rng.random_range(0.5..4.0),
                        CaseKind::RomanceFraud => rng.random_range(0.1..1.5),
                    };
                    CaseSpec {
                        prefecture: p.to_string(),
                        kind,
                        payments: rng.random_range(1..=3),
                        amount_btc: (amount * 1000.0_f64).round() / 1000.0,
                        start: None,
                    }
                })
                .collect();
            groups.push(GroupSpec {
                name: format!("Group {}", g + 1),
                route: routes[g % routes.len()],
                hops: rng.random_range(1..=3),
                deposit_accounts: rng.random_range(2..=3),
                cases,
            });
        }
        Ok(Scenario {
            blocks,
            txs_per_block,
            individuals,
            merchants,
            exchanges,
            processors: 2,
            pools: 4,
            groups,
        })
    }

    /// Overrides top-level fields with those of the JSON object in `path`.
    pub fn merge_file(self, path: &Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading scenario {}", path.display()))?;
        let over: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("scenario {}: not JSON", path.display()))?;
        let serde_json::Value::Object(over) = over else {
            bail!("scenario {}: expected a JSON object", path.display());
        };
        let mut base = serde_json::to_value(&self)?;
        for (k, v) in over {
            base[k] = v;
        }
        serde_json::from_value(base)
            .with_context(|| format!("scenario {}: invalid", path.display()))
    }

    /// Rejects scenarios the simulator cannot run.
    pub fn check(&self) -> Result<()> {
        if self.individuals < 20 || self.exchanges == 0 || self.pools == 0 {
            bail!("needs at least 20 individuals, 1 exchange and 1 pool");
        }
        if self.blocks < 80 {
            bail!("needs at least 80 blocks for cases to be laundered");
        }
        for g in &self.groups {
            if g.cases.is_empty() || g.deposit_accounts == 0 || g.hops > 5 {
                bail!(
                    "group '{}': needs cases, deposit accounts and at most 5 hops",
                    g.name
                );
            }
            for c in &g.cases {
                if !PREFECTURES.contains(&c.prefecture.as_str()) {
                    bail!("group '{}': unknown prefecture '{}'", g.name, c.prefecture);
                }
                if c.payments == 0 || !(0.001..=100.0).contains(&c.amount_btc) {
                    bail!(
                        "group '{}': a case needs ≥ 1 payment of 0.001–100 BTC",
                        g.name
                    );
                }
                if c.start.is_some_and(|s| s + 60 > self.blocks) {
                    bail!("group '{}': a case starts too late to be laundered", g.name);
                }
            }
        }
        Ok(())
    }
}
