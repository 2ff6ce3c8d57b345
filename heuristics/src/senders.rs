//! How many distinct addresses paid into an address: many unrelated
//! senders mark a public address (a service nobody tagged, a payment
//! processor, a contract anybody calls), where two cases' funds meeting
//! says nothing about who controls them.

use std::collections::BTreeSet;

use chain_adapters::ledger::{AddrId, Chain};
use chain_adapters::store::Store;

use crate::error::Result;

/// The distinct addresses that paid into `addr` in the ledger, counted up
/// to `cap` (the count stops there: a busy address is not read whole).
/// Bitcoin: the input addresses of the transactions paying it; Ethereum:
/// the senders of the transfers to it. The address itself is not counted.
pub fn distinct_senders(store: &Store, addr: AddrId, cap: u32) -> Result<u32> {
    let mut seen: BTreeSet<AddrId> = BTreeSet::new();
    let cap = cap as usize;
    for h in store.history(addr)?.iter().filter(|h| h.received > 0) {
        let Some(tx) = store.tx(h.tx)? else { continue };
        match tx.chain {
            Chain::Bitcoin => seen.extend(tx.inputs.iter().filter_map(|i| i.addr)),
            Chain::Ethereum => seen.extend(
                tx.outputs
                    .iter()
                    .filter(|o| o.addr == Some(addr))
                    .filter_map(|o| o.from),
            ),
        }
        seen.remove(&addr);
        if seen.len() >= cap {
            return Ok(cap as u32);
        }
    }
    Ok(seen.len() as u32)
}
