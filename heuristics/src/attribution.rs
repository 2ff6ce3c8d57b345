//! Attribution tags in the analysis DB: importing validated TagPacks and CSV
//! files, looking tags up by address, and resolving them to ledger addresses.
//!
//! **Which pack is which.** A pack is its file: the canonical path and the
//! SHA-256 of the content. Importing the same path again, or the same
//! content from another path, replaces that pack's tags; a different file
//! whose pack has the same title is another pack, kept beside the first
//! with a warning. Nothing is replaced for sharing a title.
//!
//! **All or nothing, in bounded memory.** Each file is read in a streaming
//! pass and its tags are staged under a fresh pack id in chunks of
//! [`CHUNK_TAGS`]; readers see only tags of packs that have a pack record.
//! When every file has been accepted, one atomic batch writes the new
//! packs' records, removes the replaced ones' records and counts the import
//! (the tags generation); then the replaced packs' tags are deleted. A
//! rejected file deletes what was staged. A crash at any point leaves the
//! previous tags in force: the ids being staged or deleted are noted in
//! the meta column family first, and the next import removes what is left
//! of them before anything else.
//!
//! Layout: `tags` = canonical address, 0, currency, 0, pack id (u32 BE),
//! sequence (u32 BE) → tag (JSON); `tag_packs` = `P` pack id → pack record
//! (JSON), `T` pack id sequence → key in `tags`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use chain_adapters::ledger::{AddrId, AddressKey, AddressKind, Chain};
use chain_adapters::query::LedgerView;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::store::{AnalysisStore, Batch, CF_META, CF_TAGS, CF_TAG_PACKS};
use crate::tags::{self, FileReport, Refused, Tag};

const META_TAGS_GENERATION: &[u8] = b"tags_generation";
/// The next pack id (u32 LE).
const META_NEXT_PACK: &[u8] = b"tag_packs_next";
/// Pack ids whose stored tags go unless the pack has a record (u32 LE each).
const META_PENDING: &[u8] = b"tag_import_pending";
/// Tags written (or deleted) per batch while staging (or cleaning up).
pub const CHUNK_TAGS: usize = 20_000;

const PACK_RECORD: u8 = b'P';
const PACK_TAG: u8 = b'T';

/// A stored pack: which file it came from and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackRecord {
    /// Pack id (in import order; a re-imported pack gets a new one).
    pub id: u32,
    /// Pack title (CSV: file name).
    pub title: String,
    /// The file's canonical path when imported.
    pub file: String,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// Tags stored.
    pub tags: u64,
    /// Tags refused for their address.
    pub refused: u64,
}

/// One imported file.
#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    /// File as given.
    pub file: String,
    /// Pack title (CSV: file name).
    pub pack: String,
    /// Its pack id (`None` when the same pack was given earlier in the
    /// import and this repetition was not read).
    pub id: Option<u32>,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Tags in it.
    pub tags: usize,
    /// Tags refused for their address.
    pub refused: usize,
    /// Ids of the stored packs it replaced (same file, or same content).
    pub replaces: Vec<u32>,
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
    /// Tags refused for an address that is not one of their network.
    pub refused: usize,
    /// The refused tags, the first [`tags::MAX_REFUSED_LISTED`] of each file.
    pub refused_tags: Vec<Refused>,
    /// Imported tags per network whose addresses tracer does not check.
    pub unchecked: BTreeMap<String, usize>,
    /// What the loader accepted with a warning (defaulted confidence,
    /// duplicate tags dropped, refused tags, a title shared by two packs).
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

fn tag_key(tag: &Tag, pack: u32, seq: u32) -> Vec<u8> {
    let mut k = canonical_address(&tag.address).into_bytes();
    k.push(0);
    k.extend_from_slice(tag.currency.as_bytes());
    k.push(0);
    k.extend_from_slice(&pack.to_be_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The pack id of a key in `tags`.
fn pack_of_tag_key(key: &[u8]) -> Option<u32> {
    let at = key.len().checked_sub(8)?;
    Some(u32::from_be_bytes(key[at..at + 4].try_into().ok()?))
}

fn pack_key(kind: u8, id: u32) -> Vec<u8> {
    let mut k = vec![kind];
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// Every stored pack, by id.
pub fn packs(store: &AnalysisStore) -> Result<Vec<PackRecord>> {
    let mut out = Vec::new();
    store.scan(CF_TAG_PACKS, &[PACK_RECORD], |k, v| {
        let record = serde_json::from_slice(v).map_err(|_| {
            store.corrupt(
                CF_TAG_PACKS,
                k,
                chain_adapters::ledger::codec::DecodeError { what: "tag pack" },
            )
        })?;
        out.push(record);
        Ok(true)
    })?;
    Ok(out)
}

/// Ids of the packs in force (those with a record).
fn live_pack_ids(store: &AnalysisStore) -> Result<HashSet<u32>> {
    let mut ids = HashSet::new();
    store.scan(CF_TAG_PACKS, &[PACK_RECORD], |k, _| {
        if let Some(id) = k.get(1..5).and_then(|b| b.try_into().ok()) {
            ids.insert(u32::from_be_bytes(id));
        }
        Ok(true)
    })?;
    Ok(ids)
}

/// A file planned for import.
struct Planned {
    file: PathBuf,
    canonical: String,
    sha256: String,
    /// `None` for a repetition of a file given earlier in the import.
    id: Option<u32>,
    replaces: Vec<u32>,
    report: FileReport,
}

/// Validates every file, staging its tags, then puts them all in force in
/// one atomic write. A bad file rejects the whole import: no tag in force
/// changes.
pub fn import(store: &AnalysisStore, files: &[PathBuf]) -> Result<ImportSummary> {
    recover(store)?;
    let live = packs(store)?;
    let first_id = next_pack_id(store)?;
    let ids: Vec<u32> = (0..files.len())
        .map(|i| u32::try_from(i).ok().and_then(|i| first_id.checked_add(i)))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::Usage("too many tag packs imported into this database".into()))?;
    // Note the ids before anything is staged under them.
    let mut batch = store.batch();
    batch.put(CF_META, META_PENDING, &ids_bytes(&ids));
    let next = first_id.saturating_add(ids.len() as u32);
    batch.put(CF_META, META_NEXT_PACK, &next.to_le_bytes());
    store.write(batch)?;

    let mut by_currency = BTreeMap::new();
    let staged = stage_all(store, files, &ids, &live, &mut by_currency);
    let planned = match staged {
        Ok(p) => p,
        Err(e) => {
            // Nothing was put in force; remove what was staged.
            recover(store)?;
            return Err(e);
        }
    };

    // Put the new packs in force, retire the replaced ones: one batch.
    let replaced_ids: Vec<u32> = planned.iter().flat_map(|p| p.replaces.clone()).collect();
    let mut batch = store.batch();
    for p in &planned {
        let Some(id) = p.id else { continue };
        let record = PackRecord {
            id,
            title: p.report.title.clone(),
            file: p.canonical.clone(),
            sha256: p.sha256.clone(),
            tags: p.report.tags as u64,
            refused: p.report.refused as u64,
        };
        let json = serde_json::to_vec(&record).expect("pack records serialize");
        batch.put(CF_TAG_PACKS, &pack_key(PACK_RECORD, id), &json);
    }
    for id in &replaced_ids {
        batch.delete(CF_TAG_PACKS, &pack_key(PACK_RECORD, *id));
    }
    let generation = generation(store)? + 1;
    batch.put(CF_META, META_TAGS_GENERATION, &generation.to_le_bytes());
    batch.put(CF_META, META_PENDING, &ids_bytes(&replaced_ids));
    store.write(batch)?;
    // The replaced packs' tags are out of force; delete them.
    recover(store)?;

    let replaced = live
        .iter()
        .filter(|r| replaced_ids.contains(&r.id))
        .map(|r| r.tags as usize)
        .sum();
    Ok(summary(files, planned, by_currency, replaced))
}

/// Reads and stages every file; the plan of each (a file given twice in
/// one import is read once: its repetition has no id).
fn stage_all(
    store: &AnalysisStore,
    files: &[PathBuf],
    ids: &[u32],
    live: &[PackRecord],
    by_currency: &mut BTreeMap<String, usize>,
) -> Result<Vec<Planned>> {
    let mut planned: Vec<Planned> = Vec::with_capacity(files.len());
    for (file, &id) in files.iter().zip(ids) {
        let bytes = tags::file_bytes(file)?;
        let canonical = std::fs::canonicalize(file)
            .map_err(|source| tags::TagError::Io {
                path: file.clone(),
                cause: source,
            })?
            .display()
            .to_string();
        let sha256 = hex::encode(Sha256::digest(&bytes));
        if let Some(same) = planned
            .iter()
            .find(|p| p.canonical == canonical || p.sha256 == sha256)
        {
            let mut report = FileReport::default();
            report.warnings.push(format!(
                "{}: the same pack as {} (same file or content), given earlier in this import; read once",
                file.display(),
                same.file.display()
            ));
            report.title = same.report.title.clone();
            planned.push(Planned {
                file: file.clone(),
                canonical,
                sha256,
                id: None,
                replaces: Vec::new(),
                report,
            });
            continue;
        }
        let mut stager = Stager::new(store, id);
        let report = tags::read_bytes(file, &bytes, &mut |tag: Tag| -> Result<()> {
            *by_currency.entry(tag.currency.clone()).or_insert(0) += 1;
            stager.put(&tag)
        })?;
        stager.finish()?;
        let replaces = live
            .iter()
            .filter(|r| r.file == canonical || r.sha256 == sha256)
            .map(|r| r.id)
            .collect();
        planned.push(Planned {
            file: file.clone(),
            canonical,
            sha256,
            id: Some(id),
            replaces,
            report,
        });
    }
    warn_shared_titles(&mut planned, live);
    Ok(planned)
}

/// Warns where a new pack's title is also another pack's, in force or
/// imported now: both are kept, told apart by their files.
fn warn_shared_titles(planned: &mut [Planned], live: &[PackRecord]) {
    let replaced: HashSet<u32> = planned.iter().flat_map(|p| p.replaces.clone()).collect();
    let mut titles: HashMap<&str, String> = live
        .iter()
        .filter(|r| !replaced.contains(&r.id))
        .map(|r| {
            (
                r.title.as_str(),
                format!("{} (pack {}, imported before)", r.file, r.id),
            )
        })
        .collect();
    let mut warnings = Vec::new();
    for (i, p) in planned.iter().enumerate() {
        if p.id.is_none() {
            continue;
        }
        match titles.get(p.report.title.as_str()) {
            Some(other) => warnings.push((
                i,
                format!(
                    "{}: pack title '{}' is also the title of {other}; both packs are kept, \
                     as different packs (`tracer tags packs` lists them)",
                    p.file.display(),
                    p.report.title
                ),
            )),
            None => {
                titles.insert(p.report.title.as_str(), p.file.display().to_string());
            }
        }
    }
    for (i, w) in warnings {
        planned[i].report.warnings.push(w);
    }
}

fn summary(
    files: &[PathBuf],
    planned: Vec<Planned>,
    by_currency: BTreeMap<String, usize>,
    replaced: usize,
) -> ImportSummary {
    let mut s = ImportSummary {
        files: Vec::with_capacity(files.len()),
        tags: 0,
        by_currency,
        replaced,
        refused: 0,
        refused_tags: Vec::new(),
        unchecked: BTreeMap::new(),
        warnings: Vec::new(),
    };
    for p in planned {
        let r = p.report;
        s.tags += r.tags;
        s.refused += r.refused;
        s.refused_tags.extend(r.refused_listed);
        for (network, n) in r.unchecked {
            *s.unchecked.entry(network).or_insert(0) += n;
        }
        s.warnings.extend(r.warnings);
        s.files.push(PackSummary {
            file: p.file.display().to_string(),
            pack: r.title,
            id: p.id,
            sha256: p.sha256,
            tags: r.tags,
            refused: r.refused,
            replaces: p.replaces,
        });
    }
    s
}

/// Writes one pack's tags in chunks, out of force until its record exists.
struct Stager<'a> {
    store: &'a AnalysisStore,
    id: u32,
    seq: u32,
    batch: Batch<'a>,
    in_batch: usize,
}

impl<'a> Stager<'a> {
    fn new(store: &'a AnalysisStore, id: u32) -> Self {
        Stager {
            store,
            id,
            seq: 0,
            batch: store.batch(),
            in_batch: 0,
        }
    }

    fn put(&mut self, tag: &Tag) -> Result<()> {
        let key = tag_key(tag, self.id, self.seq);
        let mut pk = pack_key(PACK_TAG, self.id);
        pk.extend_from_slice(&self.seq.to_be_bytes());
        let json = serde_json::to_vec(tag).expect("tags serialize");
        self.batch.put(CF_TAGS, &key, &json);
        self.batch.put(CF_TAG_PACKS, &pk, &key);
        self.seq = self
            .seq
            .checked_add(1)
            .ok_or_else(|| Error::Usage("more than 4,294,967,295 tags in one pack".into()))?;
        self.in_batch += 1;
        if self.in_batch >= CHUNK_TAGS {
            let full = std::mem::replace(&mut self.batch, self.store.batch());
            self.store.write_staged(full)?;
            self.in_batch = 0;
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        self.store.write_staged(self.batch)
    }
}

/// Removes what an interrupted or rejected import left: the stored tags of
/// every pending pack id without a pack record. Runs in chunks.
fn recover(store: &AnalysisStore) -> Result<()> {
    let Some(pending) = store.get(CF_META, META_PENDING)? else {
        return Ok(());
    };
    let live = live_pack_ids(store)?;
    for id in pending
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")))
        .filter(|id| !live.contains(id))
    {
        delete_pack_tags(store, id)?;
    }
    let mut batch = store.batch();
    batch.delete(CF_META, META_PENDING);
    store.write(batch)
}

/// Deletes the stored tags of pack `id`, [`CHUNK_TAGS`] per batch.
fn delete_pack_tags(store: &AnalysisStore, id: u32) -> Result<()> {
    let prefix = pack_key(PACK_TAG, id);
    // Each chunk starts after the last key deleted (not over its tombstones).
    let mut from = prefix.clone();
    loop {
        let mut batch = store.batch();
        let mut n = 0;
        let mut next = Vec::new();
        store.scan_from(CF_TAG_PACKS, &prefix, &from, |k, v| {
            batch.delete(CF_TAGS, v);
            batch.delete(CF_TAG_PACKS, k);
            next.clear();
            next.extend_from_slice(k);
            next.push(0);
            n += 1;
            Ok(n < CHUNK_TAGS)
        })?;
        if n == 0 {
            return Ok(());
        }
        from = next;
        store.write_staged(batch)?;
    }
}

fn next_pack_id(store: &AnalysisStore) -> Result<u32> {
    Ok(store
        .get(CF_META, META_NEXT_PACK)?
        .and_then(|v| v.as_slice().try_into().ok().map(u32::from_le_bytes))
        .unwrap_or(0))
}

fn ids_bytes(ids: &[u32]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_le_bytes()).collect()
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

/// Every tag on `address` (any currency), by currency, then in import
/// order.
pub fn tags_of(store: &AnalysisStore, address: &str) -> Result<Vec<Tag>> {
    let mut prefix = canonical_address(address).into_bytes();
    prefix.push(0);
    let mut out = Vec::new();
    let mut live: HashMap<u32, bool> = HashMap::new();
    store.scan(CF_TAGS, &prefix, |k, v| {
        let Some(id) = pack_of_tag_key(k) else {
            return Ok(true);
        };
        let in_force = match live.get(&id) {
            Some(b) => *b,
            None => {
                let b = store
                    .get(CF_TAG_PACKS, &pack_key(PACK_RECORD, id))?
                    .is_some();
                live.insert(id, b);
                b
            }
        };
        if in_force {
            out.push(decode_tag(store, k, v)?);
        }
        Ok(true)
    })?;
    Ok(out)
}

/// Calls `f` with every stored tag in force.
pub fn for_each_tag(store: &AnalysisStore, mut f: impl FnMut(Tag)) -> Result<()> {
    let live = live_pack_ids(store)?;
    store.scan(CF_TAGS, &[], |k, v| {
        if pack_of_tag_key(k).is_some_and(|id| live.contains(&id)) {
            f(decode_tag(store, k, v)?);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    const BTC_A: &str = "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s";
    const BTC_B: &str = "3FZbgi29cpjq2GjdwV8eyHuJJnkLtktZc5";
    const BTC_C: &str = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq";

    /// A one-title pack with a tag (address, label) per entry.
    fn pack(title: &str, tags: &[(&str, &str)]) -> String {
        let mut y = format!(
            "title: {title}\ncreator: tests\nsource: https://example.org\ncurrency: BTC\n\
             confidence: web_crawl\ncategory: exchange\ntags:\n"
        );
        for (address, label) in tags {
            y.push_str(&format!("- address: {address}\n  label: {label}\n"));
        }
        y
    }

    fn write(dir: &std::path::Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn labels(store: &AnalysisStore, address: &str) -> Vec<String> {
        tags_of(store, address)
            .unwrap()
            .into_iter()
            .map(|t| t.label)
            .collect()
    }

    /// Keys in the `tags` column family, in force or not.
    fn stored_keys(store: &AnalysisStore) -> usize {
        let mut n = 0;
        store
            .scan(CF_TAGS, &[], |_, _| {
                n += 1;
                Ok(true)
            })
            .unwrap();
        n
    }

    #[test]
    fn packs_sharing_a_title_are_two_packs_and_a_reimport_replaces_only_its_own() {
        let tmp = tempfile::tempdir().unwrap();
        let store = AnalysisStore::open(&tmp.path().join("db")).unwrap();
        let first = write(
            tmp.path(),
            "osaka/exchanges.yaml",
            &pack("Exchanges", &[(BTC_A, "alpha exchange")]),
        );
        let second = write(
            tmp.path(),
            "kyoto/exchanges.yaml",
            &pack("Exchanges", &[(BTC_B, "beta exchange")]),
        );
        import(&store, std::slice::from_ref(&first)).unwrap();
        let s = import(&store, std::slice::from_ref(&second)).unwrap();
        // The second pack did not replace the first: both keep their tags.
        assert_eq!(s.replaced, 0);
        assert_eq!(labels(&store, BTC_A), ["alpha exchange"]);
        assert_eq!(labels(&store, BTC_B), ["beta exchange"]);
        assert!(
            s.warnings.iter().any(
                |w| w.contains("pack title 'Exchanges' is also the title of")
                    && w.contains("osaka/exchanges.yaml")
            ),
            "{:?}",
            s.warnings
        );
        let ps = packs(&store).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!((ps[0].id, ps[0].tags), (0, 1));
        assert!(ps[0].file.ends_with("osaka/exchanges.yaml"), "{ps:?}");

        // An edited first pack, imported from its path, replaces its own
        // tags only.
        std::fs::write(
            &first,
            pack(
                "Exchanges",
                &[(BTC_A, "alpha exchange (renamed)"), (BTC_C, "alpha cold")],
            ),
        )
        .unwrap();
        let s = import(&store, std::slice::from_ref(&first)).unwrap();
        assert_eq!((s.tags, s.replaced), (2, 1));
        assert_eq!(s.files[0].replaces, [0]);
        assert_eq!(labels(&store, BTC_A), ["alpha exchange (renamed)"]);
        assert_eq!(labels(&store, BTC_C), ["alpha cold"]);
        assert_eq!(labels(&store, BTC_B), ["beta exchange"]);
        assert_eq!(stored_keys(&store), 3, "the replaced tags are gone");

        // The same content from another path is the same pack.
        let copy = write(
            tmp.path(),
            "copy/renamed.yaml",
            &std::fs::read_to_string(&second).unwrap(),
        );
        let s = import(&store, &[copy]).unwrap();
        assert_eq!((s.tags, s.replaced), (1, 1));
        assert_eq!(s.files[0].replaces, [1]);
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(
            s.warnings[0].contains("osaka/exchanges.yaml"),
            "{:?}",
            s.warnings
        );
        assert_eq!(labels(&store, BTC_B), ["beta exchange"]);
        assert_eq!(packs(&store).unwrap().len(), 2);

        // A file given twice in one import is read once.
        let s = import(&store, &[second.clone(), second]).unwrap();
        assert_eq!((s.tags, s.files[1].id), (1, None));
        assert_eq!(labels(&store, BTC_B), ["beta exchange"]);
    }

    #[test]
    fn a_rejected_or_interrupted_import_leaves_the_tags_in_force() {
        let tmp = tempfile::tempdir().unwrap();
        let store = AnalysisStore::open(&tmp.path().join("db")).unwrap();
        let good = write(tmp.path(), "good.yaml", &pack("Good", &[(BTC_A, "a")]));
        import(&store, std::slice::from_ref(&good)).unwrap();
        let before = generation(&store).unwrap();

        // A later file is rejected after the first one's tags were staged.
        let other = write(tmp.path(), "other.yaml", &pack("Other", &[(BTC_B, "b")]));
        let bad = write(tmp.path(), "bad.yaml", "title: t\ncreator: c\n");
        let e = import(&store, &[other, bad]).unwrap_err().to_string();
        assert!(e.contains("bad.yaml") && e.contains("'tags'"), "{e}");
        assert!(tags_of(&store, BTC_B).unwrap().is_empty());
        assert_eq!(labels(&store, BTC_A), ["a"]);
        assert_eq!(stored_keys(&store), 1, "staged tags removed");
        assert_eq!(generation(&store).unwrap(), before);
        assert_eq!(packs(&store).unwrap().len(), 1);

        // A crash while staging: the pending id is noted, tags are written,
        // no pack record. Readers do not see them; the next import removes
        // them.
        let id = next_pack_id(&store).unwrap();
        let mut batch = store.batch();
        batch.put(CF_META, META_PENDING, &ids_bytes(&[id]));
        batch.put(CF_META, META_NEXT_PACK, &(id + 1).to_le_bytes());
        store.write(batch).unwrap();
        let mut stager = Stager::new(&store, id);
        let mut staged = tags::load_file(&good).unwrap();
        staged[0].address = BTC_C.to_owned();
        stager.put(&staged[0]).unwrap();
        stager.finish().unwrap();
        assert_eq!(stored_keys(&store), 2);
        assert!(tags_of(&store, BTC_C).unwrap().is_empty());
        let mut all = Vec::new();
        for_each_tag(&store, |t| all.push(t.address)).unwrap();
        assert_eq!(all, [BTC_A]);
        let s = import(&store, std::slice::from_ref(&good)).unwrap();
        assert_eq!((s.tags, s.replaced), (1, 1));
        assert_eq!(stored_keys(&store), 1);
        assert_eq!(labels(&store, BTC_A), ["a"]);
    }
}
