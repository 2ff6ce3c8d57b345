//! The attribution an investigator of the simulated world would have: a
//! GraphSense TagPack (`tags.yaml`) naming the hot and cold wallets of every
//! service (exchanges, mining pools, payment processors, the mixer, CoinJoin
//! coordinators), as forensic firms learn them from test transactions.
//! Deposit addresses are not tagged: tracing must find them by their sweeps.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::truth::{EntityKind, Role};
use super::world::World;

/// GraphSense category of a service kind; `None` for non-services.
fn category(kind: EntityKind) -> Option<&'static str> {
    match kind {
        EntityKind::Exchange => Some("exchange"),
        EntityKind::MiningPool => Some("mining_service"),
        EntityKind::PaymentProcessor => Some("payment_processor"),
        EntityKind::Mixer => Some("mixing_service"),
        EntityKind::CoinjoinCoordinator => Some("coinjoin"),
        EntityKind::Individual | EntityKind::Merchant | EntityKind::CriminalGroup => None,
    }
}

/// Writes the TagPack of the services' hot and cold wallets to `path`;
/// returns the number of tags.
pub fn write_tagpack(w: &World, path: &Path) -> Result<u32> {
    let mut y = String::from(
        "title: Simulated services (hot and cold wallets)\n\
         creator: tracer simulate\n\
         description: Service wallets of the simulated economy, known from test transactions\n\
         currency: BTC\n\
         confidence: manual_transaction\n\
         is_cluster_definer: true\n\
         source: tracer simulate\n\
         lastmod: 2026-01-01\n\
         tags:\n",
    );
    let mut n = 0;
    for (i, a) in w.addrs.iter().enumerate() {
        if !matches!(a.role, Role::Hot | Role::Cold) {
            continue;
        }
        let e = &w.entities[a.owner as usize];
        let Some(cat) = category(e.kind) else {
            continue;
        };
        let actor: String = e
            .name
            .to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        writeln!(
            y,
            "- address: {}\n  label: {}\n  category: {cat}\n  actor: {actor}",
            w.address_string(i as u32),
            e.name
        )?;
        n += 1;
    }
    std::fs::write(path, y).with_context(|| format!("writing {}", path.display()))?;
    Ok(n)
}
