//! Attribution tags in the analysis DB: importing validated TagPacks and CSV
//! files (all files are checked before anything is written; re-importing a
//! pack replaces its tags), looking tags up by address, and resolving them
//! to ledger addresses.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chain_adapters::ledger::{AddrId, AddressKey, AddressKind, Chain};
use chain_adapters::query::LedgerView;
use serde::Serialize;

use crate::error::Result;
use crate::store::{AnalysisStore, CF_META, CF_TAGS, CF_TAG_PACKS};
use crate::tags::{self, Tag};

const META_TAGS_GENERATION: &[u8] = b"tags_generation";

/// One imported file.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    /// File as given.
    pub file: String,
    /// Pack title (CSV: file name).
    pub pack: String,
    /// Tags in it.
    pub tags: usize,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// Each file.
    pub files: Vec<PackSummary>,
    /// Tags imported.
    pub tags: usize,
    /// Tags per currency.
    pub by_currency: BTreeMap<String, usize>,
    /// Tags of earlier imports of the same packs that were replaced.
    pub replaced: usize,
    /// What the loader accepted with a warning (defaulted confidence, duplicate tags dropped).
    pub warnings: Vec<String>,
}

/// How an address is keyed: bech32 and hex forms are case-insensitive.
pub fn canonical_address(address: &str) -> String {
    let a = address.trim();
    let lower = a.to_ascii_lowercase();
    let case_free = ["0x", "bc1", "tb1", "bcrt1"]
        .iter()
        .any(|p| lower.starts_with(p));
    if case_free {
        lower
    } else {
        a.to_string()
    }
}

fn tag_key(tag: &Tag, seq: u32) -> Vec<u8> {
    let mut k = canonical_address(&tag.address).into_bytes();
    k.push(0);
    k.extend_from_slice(tag.currency.as_bytes());
    k.push(0);
    k.extend_from_slice(tag.pack.as_bytes());
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Validates every file, then stores all their tags in one atomic write.
/// A bad file rejects the whole import: nothing is written.
pub fn import(store: &AnalysisStore, files: &[PathBuf]) -> Result<ImportSummary> {
    let mut loaded = Vec::with_capacity(files.len());
    let mut warnings = Vec::new();
    for f in files {
        let l = tags::load_file_with_warnings(f)?;
        warnings.extend(l.warnings);
        loaded.push((f, l.tags));
    }
    let mut batch = store.batch();
    let mut summary = ImportSummary {
        files: Vec::new(),
        tags: 0,
        by_currency: BTreeMap::new(),
        replaced: 0,
        warnings,
    };
    let mut seq: BTreeMap<String, u32> = BTreeMap::new();
    for (file, tags) in &loaded {
        let pack = tags.first().map(|t| t.pack.clone()).unwrap_or_default();
        if !seq.contains_key(&pack) {
            // Re-import: the pack's earlier tags go.
            let mut prefix = pack.as_bytes().to_vec();
            prefix.push(0);
            store.scan(CF_TAG_PACKS, &prefix, |k, v| {
                batch.delete(CF_TAGS, v);
                batch.delete(CF_TAG_PACKS, k);
                summary.replaced += 1;
                Ok(true)
            })?;
        }
        let next = seq.entry(pack.clone()).or_insert(0);
        for tag in tags {
            let key = tag_key(tag, *next);
            let mut pk = tag.pack.as_bytes().to_vec();
            pk.push(0);
            pk.extend_from_slice(&next.to_be_bytes());
            let json = serde_json::to_vec(tag).expect("tags serialize");
            batch.put(CF_TAGS, &key, &json);
            batch.put(CF_TAG_PACKS, &pk, &key);
            *summary.by_currency.entry(tag.currency.clone()).or_insert(0) += 1;
            *next += 1;
        }
        summary.tags += tags.len();
        summary.files.push(PackSummary {
            file: file.display().to_string(),
            pack,
            tags: tags.len(),
        });
    }
    let generation = generation(store)? + 1;
    batch.put(CF_META, META_TAGS_GENERATION, &generation.to_le_bytes());
    store.write(batch)?;
    Ok(summary)
}

/// Counts tag imports, so that builds notice new tags.
pub fn generation(store: &AnalysisStore) -> Result<u64> {
    Ok(store
        .get(CF_META, META_TAGS_GENERATION)?
        .and_then(|v| v.as_slice().try_into().ok().map(u64::from_le_bytes))
        .unwrap_or(0))
}

fn decode_tag(store: &AnalysisStore, k: &[u8], v: &[u8]) -> Result<Tag> {
    serde_json::from_slice(v).map_err(|_| {
        store.corrupt(
            CF_TAGS,
            k,
            chain_adapters::ledger::codec::DecodeError { what: "tag" },
        )
    })
}

/// Every tag on `address` (any currency), in pack order.
pub fn tags_of(store: &AnalysisStore, address: &str) -> Result<Vec<Tag>> {
    let mut prefix = canonical_address(address).into_bytes();
    prefix.push(0);
    let mut out = Vec::new();
    store.scan(CF_TAGS, &prefix, |k, v| {
        out.push(decode_tag(store, k, v)?);
        Ok(true)
    })?;
    Ok(out)
}

/// Calls `f` with every stored tag.
pub fn for_each_tag(store: &AnalysisStore, mut f: impl FnMut(Tag)) -> Result<()> {
    store.scan(CF_TAGS, &[], |k, v| {
        f(decode_tag(store, k, v)?);
        Ok(true)
    })
}

/// The ledger addresses a tag names (none if its currency or network is
/// not in the ledger). A `1…` address names both its P2PKH and P2PK forms.
pub fn resolve(view: &LedgerView<'_>, tag: &Tag) -> Result<Vec<AddrId>> {
    let keys = match tag.currency.as_str() {
        "BTC" => {
            chain_adapters::bitcoin::address::parse(&tag.address, view.network).unwrap_or_default()
        }
        "ETH" => {
            let hex_part = tag.address.trim().trim_start_matches("0x");
            match hex::decode(hex_part) {
                Ok(payload) if payload.len() == 20 => vec![AddressKey {
                    chain: Chain::Ethereum,
                    kind: AddressKind::Account,
                    payload,
                    detail: vec![],
                }],
                _ => vec![],
            }
        }
        _ => vec![],
    };
    let mut ids = Vec::new();
    for k in keys {
        if let Some(id) = view.store.addr_id(&k)? {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The service a tag says its address belongs to, for the collapse guard:
/// the actor if the tag names one, else the label (lower case).
pub fn service_of(tag: &Tag) -> Option<String> {
    tag.is_service().then(|| {
        tag.actor
            .clone()
            .unwrap_or_else(|| tag.label.to_lowercase())
    })
}

/// Every tagged ledger address with its tags' services, in address order.
pub fn tagged_addresses(
    store: &AnalysisStore,
    view: &LedgerView<'_>,
) -> Result<Vec<(AddrId, Option<String>)>> {
    let mut tags = Vec::new();
    for_each_tag(store, |t| tags.push(t))?;
    let mut out = Vec::new();
    for t in &tags {
        for id in resolve(view, t)? {
            out.push((id, service_of(t)));
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}
