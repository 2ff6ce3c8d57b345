//! Reader for Bitcoin Core's block files (`blocks/blk*.dat`).
//!
//! Each record is `magic (4) | size (u32 LE) | block (size bytes)`. Core
//! pre-allocates files, so runs of zero bytes may sit between or after
//! records. Since Core 28 the files may be XOR-obfuscated with the 8-byte key
//! in `xor.dat`. Blocks are written in arrival order, not height order, and
//! stale blocks stay in the files: [`BlockFiles::best_chain`] orders blocks by
//! their prev-hash links from genesis and keeps the chain with the most work,
//! without Core's LevelDB index.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::consensus::{deserialize, Decodable};
use bitcoin::p2p::Magic;
use bitcoin::pow::Work;
use bitcoin::{Block, BlockHash, Network};

use super::convert::{decode_verified_new_block, verified_txids};
use super::network::{network_name, network_of_magic};
use crate::error::{Error, Result};
use crate::ledger::NewBlock;

/// Largest block a record may hold (the consensus weight limit allows at most 4 MB).
pub const MAX_BLOCK_SIZE: u32 = 4_000_000;

/// The blk files of one directory (or a single file), with their XOR key.
pub struct BlockFiles {
    files: Vec<(PathBuf, File, u64)>,
    xor: [u8; 8],
}

/// Where one block sits in the files, with its parsed header.
#[derive(Debug, Clone)]
pub struct BlockLocation {
    /// Index into [`BlockFiles::paths`].
    pub file: usize,
    /// Byte offset of the record's magic.
    pub offset: u64,
    /// Size of the serialized block.
    pub size: u32,
    /// The block header.
    pub header: Header,
    /// The block hash.
    pub hash: BlockHash,
    /// Network whose magic framed the record.
    pub network: Network,
}

/// What [`BlockFiles::scan`] found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Every complete record, in file order.
    pub blocks: Vec<BlockLocation>,
    /// The record the last file ends inside, if any ([`Error::Truncated`]):
    /// left out, with where it starts and how much of it is missing.
    pub incomplete_tail: Option<Error>,
}

/// The best chain found in the files.
pub struct MainChain {
    /// The network's genesis block when the files do not contain it
    /// (it is fixed by consensus, so it is supplied from the `bitcoin` crate).
    pub virtual_genesis: Option<Block>,
    /// Blocks from the first stored one to the tip, in height order.
    pub blocks: Vec<BlockLocation>,
    /// Blocks in the files that are not on the best chain (stale forks).
    pub stale: usize,
    /// Blocks whose ancestry does not reach genesis (a parent is missing).
    pub unconnected: usize,
}

impl MainChain {
    /// Height of `blocks[0]` (1 when genesis is supplied, else 0).
    pub fn first_block_height(&self) -> u64 {
        u64::from(self.virtual_genesis.is_some())
    }

    /// Height of the tip, if the chain has any block.
    pub fn tip_height(&self) -> Option<u64> {
        (self.blocks.len() as u64 + self.first_block_height()).checked_sub(1)
    }

    /// The blocks in the files at heights `height` and above.
    pub fn blocks_from(&self, height: u64) -> &[BlockLocation] {
        let skip = height.saturating_sub(self.first_block_height()) as usize;
        self.blocks.get(skip..).unwrap_or_default()
    }

    /// Hash of the block at `height`.
    pub fn hash_at(&self, height: u64) -> Option<BlockHash> {
        match &self.virtual_genesis {
            Some(g) if height == 0 => Some(g.block_hash()),
            _ => self.blocks_from(height).first().map(|l| l.hash),
        }
    }
}

fn unxor(buf: &mut [u8], offset: u64, key: &[u8; 8]) {
    if key == &[0; 8] {
        return;
    }
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[((offset + i as u64) % 8) as usize];
    }
}

impl BlockFiles {
    /// Opens a blocks directory (all `blk*.dat`, in file-number order, and
    /// `xor.dat` if present) or a single blk file.
    pub fn open(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
        let (paths, xor_path) = if meta.is_dir() {
            let mut names: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| Error::io(path, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("blk") && n.ends_with(".dat"))
                })
                .collect();
            names.sort();
            if names.is_empty() {
                return Err(Error::Usage(format!(
                    "{}: no blk*.dat files in this directory",
                    path.display()
                )));
            }
            (names, path.join("xor.dat"))
        } else {
            let dir = path.parent().unwrap_or(Path::new("."));
            (vec![path.to_path_buf()], dir.join("xor.dat"))
        };
        let xor = match std::fs::read(&xor_path) {
            Ok(k) => k.try_into().map_err(|k: Vec<u8>| Error::CorruptBlock {
                path: xor_path.clone(),
                offset: 0,
                reason: format!("xor.dat must hold 8 bytes, holds {}", k.len()),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => [0; 8],
            Err(e) => return Err(Error::io(xor_path, e)),
        };
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let f = File::open(&p).map_err(|e| Error::io(&p, e))?;
            let len = f.metadata().map_err(|e| Error::io(&p, e))?.len();
            files.push((p, f, len));
        }
        Ok(BlockFiles { files, xor })
    }

    /// Paths of the files, in read order.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|(p, _, _)| p.as_path())
    }

    /// Total bytes in the files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.2).sum()
    }

    /// Whether the files are XOR-obfuscated.
    pub fn is_obfuscated(&self) -> bool {
        self.xor != [0; 8]
    }

    /// Path of file `i`.
    pub fn path(&self, i: usize) -> &Path {
        &self.files[i].0
    }

    /// Reads the framing and headers of every record in every file, checking
    /// each record's magic is `network`'s, its size fits in the file and its
    /// header meets its own proof of work. Reads 88 bytes per block.
    ///
    /// A record cut short by the end of the **last** file is what a running or
    /// crashed Bitcoin Core leaves behind: every complete block before it is
    /// kept and the cut is returned as [`Scan::incomplete_tail`]. Cut short in
    /// any other file, it is an error (the copy is damaged).
    pub fn scan(&self, network: Network) -> Result<Scan> {
        self.scan_files(Some(network))
    }

    /// Like [`BlockFiles::scan`] but accepts records of any known network
    /// (for decoding files without a ledger).
    pub fn scan_any_network(&self) -> Result<Scan> {
        self.scan_files(None)
    }

    fn scan_files(&self, network: Option<Network>) -> Result<Scan> {
        let mut scan = Scan::default();
        let last = self.files.len().saturating_sub(1);
        for i in 0..self.files.len() {
            match self.scan_file(i, network, &mut scan.blocks) {
                Err(e @ Error::Truncated { .. }) if i == last => scan.incomplete_tail = Some(e),
                other => other?,
            }
        }
        Ok(scan)
    }

    fn scan_file(
        &self,
        i: usize,
        network: Option<Network>,
        out: &mut Vec<BlockLocation>,
    ) -> Result<()> {
        let (path, file, len) = &self.files[i];
        let len = *len;
        let io = |e| Error::io(path, e);
        let mut r = BufReader::with_capacity(1 << 16, file);
        r.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut pos = 0u64;
        while pos < len {
            let avail = len - pos;
            let mut frame = [0u8; 8];
            let n = avail.min(8) as usize;
            r.read_exact(&mut frame[..n]).map_err(io)?;
            if frame[..n.min(4)].iter().all(|&b| b == 0) {
                // Zero-filled gap: skip to the next non-zero byte.
                match skip_zeros(&mut r, pos + n as u64, &frame[..n], len).map_err(io)? {
                    Some(next) => {
                        pos = next;
                        r.seek(SeekFrom::Start(pos)).map_err(io)?;
                        continue;
                    }
                    None => break,
                }
            }
            unxor(&mut frame[..n], pos, &self.xor);
            let truncated = |what, needed| Error::Truncated {
                path: path.clone(),
                offset: pos,
                what,
                needed,
                available: avail,
            };
            if n < 4 {
                return Err(truncated("block magic", 4));
            }
            let magic: [u8; 4] = frame[..4].try_into().expect("4 bytes");
            let found = network_of_magic(magic);
            let record_network = match (found, network) {
                (Some(f), None) => f,
                (Some(f), Some(n)) if f == n => f,
                (Some(f), Some(n)) => {
                    return Err(Error::WrongNetwork {
                        path: path.clone(),
                        offset: pos,
                        found: network_name(f).into(),
                        expected: network_name(n).into(),
                    })
                }
                (None, n) => {
                    return Err(Error::BadMagic {
                        path: path.clone(),
                        offset: pos,
                        found: hex::encode(magic),
                        expected: n.map_or("a known network's magic".into(), |n| {
                            hex::encode(Magic::from(n).to_bytes())
                        }),
                    })
                }
            };
            if n < 8 {
                return Err(truncated("block size field", 8));
            }
            let size = u32::from_le_bytes(frame[4..8].try_into().expect("4 bytes"));
            if !(80..=MAX_BLOCK_SIZE).contains(&size) {
                return Err(Error::CorruptBlock {
                    path: path.clone(),
                    offset: pos,
                    reason: format!("implausible block size {size} bytes"),
                });
            }
            if u64::from(size) + 8 > avail {
                return Err(truncated("block", u64::from(size) + 8));
            }
            let mut hbytes = [0u8; 80];
            r.read_exact(&mut hbytes).map_err(io)?;
            unxor(&mut hbytes, pos + 8, &self.xor);
            let header =
                Header::consensus_decode(&mut &hbytes[..]).map_err(|e| Error::CorruptBlock {
                    path: path.clone(),
                    offset: pos,
                    reason: format!("header: {e}"),
                })?;
            let hash = header
                .validate_pow(header.target())
                .map_err(|e| Error::CorruptBlock {
                    path: path.clone(),
                    offset: pos,
                    reason: format!("header fails its proof of work ({e})"),
                })?;
            out.push(BlockLocation {
                file: i,
                offset: pos,
                size,
                header,
                hash,
                network: record_network,
            });
            pos += 8 + u64::from(size);
            r.seek_relative(i64::from(size) - 80).map_err(io)?;
        }
        Ok(())
    }

    /// The bytes of the block at `loc`.
    fn bytes_at(&self, loc: &BlockLocation) -> Result<Vec<u8>> {
        let (path, file, _) = &self.files[loc.file];
        let mut buf = vec![0u8; loc.size as usize];
        file.read_exact_at(&mut buf, loc.offset + 8)
            .map_err(|e| Error::io(path, e))?;
        unxor(&mut buf, loc.offset + 8, &self.xor);
        Ok(buf)
    }

    /// Reads and decodes the block at `loc`, checking its hash.
    fn decode_at(&self, loc: &BlockLocation) -> Result<Block> {
        let buf = self.bytes_at(loc)?;
        let block: Block = deserialize(&buf).map_err(|e| self.corrupt(loc, e.to_string()))?;
        self.check_hash(loc, block.block_hash())?;
        Ok(block)
    }

    /// Fails if the block read at `loc` is not the one the scan found there.
    fn check_hash(&self, loc: &BlockLocation, hash: BlockHash) -> Result<()> {
        if hash != loc.hash {
            return Err(self.corrupt(loc, "header changed since the scan".into()));
        }
        Ok(())
    }

    fn corrupt(&self, loc: &BlockLocation, reason: String) -> Error {
        Error::CorruptBlock {
            path: self.files[loc.file].0.clone(),
            offset: loc.offset,
            reason,
        }
    }

    /// Reads, decodes and verifies (hash and merkle root) the block at `loc`.
    pub fn read_block(&self, loc: &BlockLocation) -> Result<Block> {
        let block = self.decode_at(loc)?;
        verified_txids(&block).map_err(|reason| self.corrupt(loc, reason))?;
        Ok(block)
    }

    /// Reads the block at `loc`, verifies it and converts it for the ledger at `height`.
    pub fn read_new_block(&self, loc: &BlockLocation, height: u64) -> Result<NewBlock> {
        let buf = self.bytes_at(loc)?;
        let (hash, block) =
            decode_verified_new_block(&buf, height).map_err(|reason| self.corrupt(loc, reason))?;
        self.check_hash(loc, hash)?;
        Ok(block)
    }

    /// Orders the scanned blocks into the chain with the most work from
    /// `network`'s genesis. Blocks off that chain are counted as stale, blocks
    /// whose parent is missing as unconnected.
    pub fn best_chain(locs: Vec<BlockLocation>, network: Network) -> MainChain {
        let genesis = bitcoin::constants::genesis_block(network);
        let genesis_hash = genesis.block_hash();
        // A block written twice counts once (the first copy).
        let mut index: HashMap<BlockHash, usize> = HashMap::with_capacity(locs.len());
        let mut locs_unique = Vec::with_capacity(locs.len());
        for l in locs {
            if let std::collections::hash_map::Entry::Vacant(e) = index.entry(l.hash) {
                e.insert(locs_unique.len());
                locs_unique.push(l);
            }
        }
        let locs = locs_unique;
        let has_genesis = index.contains_key(&genesis_hash);
        let genesis_work = genesis.header.work();
        // Cumulative work of each block whose ancestry reaches genesis.
        let mut work: Vec<Option<Work>> = vec![None; locs.len()];
        let mut resolved = vec![false; locs.len()];
        let mut stack = Vec::new();
        for start in 0..locs.len() {
            let mut cur = start;
            let base: Option<Work> = loop {
                if resolved[cur] {
                    break work[cur];
                }
                stack.push(cur);
                if locs[cur].hash == genesis_hash {
                    break Some(Work::from_be_bytes([0; 32]));
                }
                let prev = locs[cur].header.prev_blockhash;
                match index.get(&prev) {
                    Some(&p) => cur = p,
                    None if prev == genesis_hash => break Some(genesis_work),
                    None => break None,
                }
            };
            let mut acc = base;
            while let Some(b) = stack.pop() {
                acc = acc.map(|w| w + locs[b].header.work());
                work[b] = acc;
                resolved[b] = true;
            }
        }
        // Most work wins; among equals the block seen first in the files.
        let mut tip: Option<(Work, usize)> = None;
        for (i, w) in work.iter().enumerate() {
            if let Some(w) = *w {
                if tip.is_none_or(|(bw, _)| w > bw) {
                    tip = Some((w, i));
                }
            }
        }
        let mut chain = Vec::new();
        if let Some((_, mut cur)) = tip {
            loop {
                chain.push(cur);
                match index.get(&locs[cur].header.prev_blockhash) {
                    Some(&p) if locs[cur].hash != genesis_hash => cur = p,
                    _ => break,
                }
            }
        }
        chain.reverse();
        let connected = work.iter().filter(|w| w.is_some()).count();
        let unconnected = locs.len() - connected;
        let stale = connected - chain.len();
        let mut slots: Vec<Option<BlockLocation>> = locs.into_iter().map(Some).collect();
        let blocks = chain
            .iter()
            .filter_map(|&i| slots[i].take())
            .collect::<Vec<_>>();
        MainChain {
            virtual_genesis: (!has_genesis && !blocks.is_empty()).then_some(genesis),
            blocks,
            stale,
            unconnected,
        }
    }
}

/// Skips a run of zero bytes starting at `pos - seen.len()`. Returns the
/// offset of the next non-zero byte, or `None` at end of file.
fn skip_zeros<R: Read>(r: &mut R, pos: u64, seen: &[u8], len: u64) -> std::io::Result<Option<u64>> {
    let start = pos - seen.len() as u64;
    if let Some(i) = seen.iter().position(|&b| b != 0) {
        return Ok(Some(start + i as u64));
    }
    let mut at = pos;
    let mut buf = [0u8; 4096];
    while at < len {
        let n = ((len - at) as usize).min(buf.len());
        r.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
            return Ok(Some(at + i as u64));
        }
        at += n as u64;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;

    /// A fixed xorshift sequence from `seed`: where to damage test files.
    fn pseudo_random(mut seed: u64) -> impl FnMut() -> u64 {
        move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        }
    }

    /// Txids, sizes and virtual sizes taken from each transaction's bytes
    /// equal rust-bitcoin's (serialize again and hash) on real blocks:
    /// 11,968 transactions, 950 of them with witnesses.
    #[test]
    fn transaction_facts_from_bytes_match_the_decoded_transactions() {
        let (mut txs, mut segwit) = (0, 0);
        for name in [
            "blk-heights-0-4312.dat",
            "segwit-2-blocks.blk",
            "block-2019-01.blk",
        ] {
            let files = BlockFiles::open(&crate::fixture(&format!("bitcoin/{name}"))).unwrap();
            for loc in files.scan(Network::Bitcoin).unwrap().blocks {
                let bytes = files.bytes_at(&loc).unwrap();
                let (hash, from_bytes) = decode_verified_new_block(&bytes, 7).unwrap();
                assert_eq!(hash, loc.hash);
                let block: Block = deserialize(&bytes).unwrap();
                let decoded = super::super::convert::to_new_block(&block, 7);
                assert_eq!(from_bytes.size, decoded.size);
                assert_eq!(from_bytes.txs.len(), decoded.txs.len());
                for (a, b) in from_bytes.txs.iter().zip(&decoded.txs) {
                    assert_eq!((a.hash, a.size, a.vsize), (b.hash, b.size, b.vsize));
                    txs += 1;
                    segwit += usize::from(a.size != a.vsize);
                }
            }
        }
        assert_eq!((txs, segwit), (4371 + 4699 + 2898, 950));
    }

    /// Real blocks 0–4312, damaged at pseudo-random places: the reader must
    /// return an error or blocks, never panic. A file cut short keeps every
    /// complete block before the cut and names the cut record.
    #[test]
    fn damaged_files_never_panic() {
        let fixture = crate::fixture("bitcoin/blk-heights-0-4312.dat");
        let good = std::fs::read(&fixture).unwrap();
        let whole = BlockFiles::open(&fixture)
            .unwrap()
            .scan(Network::Bitcoin)
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blk00000.dat");
        let mut next = pseudo_random(0x5eed);
        let (mut errors, mut oks, mut cuts) = (0, 0, 0);
        for round in 0..150 {
            let mut bytes = good.clone();
            let cut = round % 3 == 0;
            if cut {
                bytes.truncate((next() % good.len() as u64) as usize);
            } else {
                for _ in 0..1 + next() % 4 {
                    let i = (next() % bytes.len() as u64) as usize;
                    bytes[i] = next() as u8;
                }
            }
            std::fs::write(&path, &bytes).unwrap();
            let outcome = std::panic::catch_unwind(|| -> Result<(Scan, usize)> {
                let files = BlockFiles::open(&path)?;
                let scan = files.scan(Network::Bitcoin)?;
                let chain = BlockFiles::best_chain(scan.blocks.clone(), Network::Bitcoin);
                let mut n = 0;
                for (i, loc) in chain.blocks.iter().enumerate() {
                    n += files.read_new_block(loc, i as u64)?.txs.len();
                }
                Ok((scan, n))
            });
            match outcome.expect("the reader panicked on damaged input") {
                Ok((scan, _)) if cut => {
                    // Every record that ends before the cut, and the one it
                    // falls in named as the incomplete tail.
                    let complete = whole
                        .blocks
                        .iter()
                        .take_while(|l| l.offset + 8 + u64::from(l.size) <= bytes.len() as u64)
                        .count();
                    assert_eq!(scan.blocks.len(), complete, "round {round}");
                    let at_boundary = whole
                        .blocks
                        .get(complete)
                        .is_none_or(|l| l.offset == bytes.len() as u64);
                    match &scan.incomplete_tail {
                        Some(Error::Truncated { offset, .. }) => {
                            assert_eq!(*offset, whole.blocks[complete].offset, "round {round}")
                        }
                        other => assert!(at_boundary, "round {round}: {other:?}"),
                    }
                    cuts += 1;
                }
                Ok(_) => oks += 1,
                Err(e) => {
                    assert!(!cut, "round {round}: a cut file is read, not refused: {e}");
                    errors += 1;
                }
            }
        }
        assert_eq!(cuts, 50);
        // Most damage is detected (framing, PoW, merkle root); a byte flipped in
        // a zero-value padding area may leave a valid file.
        assert!(
            errors > 90,
            "{errors} errors, {oks} clean reads of 100 damaged files"
        );
    }

    /// Real segwit blocks, damaged at pseudo-random places (bytes changed,
    /// inserted, removed, or the block cut short): decoding them and taking
    /// each transaction's facts from its bytes (the BIP 144 witness layout)
    /// returns an error or a block, never panics. A block that still decodes
    /// must still pass the merkle check, so its txids are the ones rust-bitcoin
    /// computes.
    #[test]
    fn damaged_segwit_blocks_never_panic() {
        let files = BlockFiles::open(&crate::fixture("bitcoin/segwit-2-blocks.blk")).unwrap();
        let blocks: Vec<Vec<u8>> = files
            .scan(Network::Bitcoin)
            .unwrap()
            .blocks
            .iter()
            .map(|loc| files.bytes_at(loc).unwrap())
            .collect();
        let mut next = pseudo_random(0x5e6);
        let (mut errors, mut decoded) = (0, 0);
        for round in 0..3000 {
            let mut bytes = blocks[round % blocks.len()].clone();
            let len = bytes.len() as u64;
            // Past the 80-byte header, where the transactions are.
            let at = (80 + next() % (len - 80)) as usize;
            match round % 4 {
                0 => bytes.truncate(at),
                1 => {
                    bytes.insert(at, next() as u8);
                }
                2 => {
                    bytes.remove(at);
                }
                _ => bytes[at] = next() as u8,
            }
            let outcome = std::panic::catch_unwind(|| decode_verified_new_block(&bytes, 1));
            match outcome.expect("decoding panicked on a damaged block") {
                Ok((_, block)) => {
                    let block_again: Block = deserialize(&bytes).expect("rust-bitcoin decodes it");
                    let txids: Vec<[u8; 32]> = block_again
                        .txdata
                        .iter()
                        .map(|t| t.compute_txid().to_byte_array())
                        .collect();
                    let ours: Vec<[u8; 32]> = block.txs.iter().map(|t| t.hash).collect();
                    assert_eq!(ours, txids, "round {round}");
                    decoded += 1;
                }
                Err(_) => errors += 1,
            }
        }
        // Nearly all damage is caught by the decoder or the merkle check.
        assert!(errors > 2900, "{errors} errors, {decoded} blocks decoded");
    }
}
