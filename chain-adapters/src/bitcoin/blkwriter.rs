//! Writes blocks in Bitcoin Core's block-file format (`blkNNNNN.dat`), for the
//! simulator and benchmarks, and grinds regtest proof of work.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bitcoin::block::Header;
use bitcoin::consensus::Encodable;
use bitcoin::p2p::Magic;
use bitcoin::{Block, Network};

use crate::error::{Error, Result};

/// Core's maximum blk file size (128 MiB).
pub const MAX_BLK_FILE: u64 = 128 << 20;

/// Appends framed blocks to `blk00000.dat`, `blk00001.dat`, … in a directory.
pub struct BlkWriter {
    dir: PathBuf,
    magic: [u8; 4],
    max_file: u64,
    index: u32,
    out: BufWriter<File>,
    len: u64,
    buf: Vec<u8>,
}

impl BlkWriter {
    /// Starts `dir/blk00000.dat` for `network`, rolling to a new file past `max_file` bytes.
    pub fn create(dir: &Path, network: Network, max_file: u64) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let out = Self::open(dir, 0)?;
        Ok(BlkWriter {
            dir: dir.to_path_buf(),
            magic: Magic::from(network).to_bytes(),
            max_file,
            index: 0,
            out,
            len: 0,
            buf: Vec::with_capacity(1 << 20),
        })
    }

    fn open(dir: &Path, index: u32) -> Result<BufWriter<File>> {
        let p = dir.join(format!("blk{index:05}.dat"));
        let f = File::create(&p).map_err(|e| Error::io(&p, e))?;
        Ok(BufWriter::with_capacity(1 << 20, f))
    }

    fn path(&self) -> PathBuf {
        self.dir.join(format!("blk{:05}.dat", self.index))
    }

    /// Appends one block record.
    pub fn write_block(&mut self, block: &Block) -> Result<()> {
        self.buf.clear();
        block
            .consensus_encode(&mut self.buf)
            .expect("writing to a Vec cannot fail");
        let rec = 8 + self.buf.len() as u64;
        if self.len > 0 && self.len + rec > self.max_file {
            self.out.flush().map_err(|e| Error::io(self.path(), e))?;
            self.index += 1;
            self.out = Self::open(&self.dir, self.index)?;
            self.len = 0;
        }
        let io = |e| Error::io(self.dir.join(format!("blk{:05}.dat", self.index)), e);
        self.out.write_all(&self.magic).map_err(io)?;
        self.out
            .write_all(&(self.buf.len() as u32).to_le_bytes())
            .map_err(io)?;
        self.out.write_all(&self.buf).map_err(io)?;
        self.len += rec;
        Ok(())
    }

    /// Flushes the current file; returns how many files were written.
    pub fn finish(mut self) -> Result<u32> {
        self.out.flush().map_err(|e| Error::io(self.path(), e))?;
        Ok(self.index + 1)
    }
}

/// Increments the nonce until the header meets its own target (a few tries on regtest).
pub fn grind_pow(header: &mut Header) {
    while header.validate_pow(header.target()).is_err() {
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            header.time += 1;
        }
    }
}
