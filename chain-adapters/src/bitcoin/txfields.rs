//! Where a damaged transaction stops making sense: a walk over its fields
//! (version, inputs, outputs, witnesses, lock time) that names the first one
//! the bytes cannot hold, for error messages that say which transaction and
//! which field of a block is cut short.

/// The field of the serialized transaction `bytes` that the bytes end inside
/// ("output 1's value: needs 8 bytes, 3 left"), or `None` if every field fits.
pub fn cut_field(bytes: &[u8]) -> Option<String> {
    let mut w = Walk { bytes, at: 0 };
    w.run().err()
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Walk<'_> {
    fn left(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: u64, what: &dyn Fn() -> String) -> Result<(), String> {
        if n > self.left() as u64 {
            return Err(format!("{}: needs {n} bytes, {} left", what(), self.left()));
        }
        self.at += n as usize;
        Ok(())
    }

    fn count(&mut self, what: &dyn Fn() -> String) -> Result<u64, String> {
        let Some(&first) = self.bytes.get(self.at) else {
            return Err(format!("{}: needs 1 byte, 0 left", what()));
        };
        let width = match first {
            0xfd => 2,
            0xfe => 4,
            0xff => 8,
            n => {
                self.at += 1;
                return Ok(u64::from(n));
            }
        };
        self.take(1, what)?;
        let start = self.at;
        self.take(width, what)?;
        let mut n = [0u8; 8];
        n[..width as usize].copy_from_slice(&self.bytes[start..self.at]);
        Ok(u64::from_le_bytes(n))
    }

    fn run(&mut self) -> Result<(), String> {
        self.take(4, &|| "version".into())?;
        let mut inputs = self.count(&|| "input count".into())?;
        let segwit = inputs == 0 && self.bytes.get(self.at) == Some(&1);
        if segwit {
            self.take(1, &|| "segwit flag".into())?;
            inputs = self.count(&|| "input count".into())?;
        }
        for i in 0..inputs {
            self.take(36, &|| format!("input {i}'s outpoint"))?;
            let len = self.count(&|| format!("input {i}'s script length"))?;
            self.take(len, &|| format!("input {i}'s script"))?;
            self.take(4, &|| format!("input {i}'s sequence"))?;
        }
        let outputs = self.count(&|| "output count".into())?;
        for o in 0..outputs {
            self.take(8, &|| format!("output {o}'s value"))?;
            let len = self.count(&|| format!("output {o}'s script length"))?;
            self.take(len, &|| format!("output {o}'s script"))?;
        }
        if segwit {
            for i in 0..inputs {
                let items = self.count(&|| format!("input {i}'s witness item count"))?;
                for k in 0..items {
                    let len = self.count(&|| format!("input {i}'s witness item {k} length"))?;
                    self.take(len, &|| format!("input {i}'s witness item {k}"))?;
                }
            }
        }
        self.take(4, &|| "lock time".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block 170's second transaction (txid f4184fc5…9e16), the first
    /// payment between people: one input, two outputs, no witness.
    const TX_170: &str = "0100000001c997a5e56e104102fa209c6a852dd90660a20b2d9c352423edce25857fcd3704000000004847304402204e45e16932b8af514961a1d3a1a25fdf3f4f7732e9d624c6c61548ab5fb8cd410220181522ec8eca07de4860a4acdd12909d831cc56cbbac4622082221a8768d1d0901ffffffff0200ca9a3b00000000434104ae1a62fe09c5f51b13905f07f06b99a2f7159b2225f374cd378d71302fa28414e7aab37397f554a7df5f142c21c1b7303b8a0626f1baded5c72a704f7e6cd84cac00286bee0000000043410411db93e1dcdb8a016b49840f8c53bc1eb68a382e97b1482ecad7b148a6909a5cb2e0eaddfb84ccf9744464f82e160bfa9b8b64f9d4c03f999b8643f656b412a3ac00000000";

    #[test]
    fn a_whole_transaction_has_no_cut_field() {
        assert_eq!(cut_field(&hex::decode(TX_170).unwrap()), None);
    }

    #[test]
    fn each_cut_is_named_by_its_field() {
        let tx = hex::decode(TX_170).unwrap();
        // 4 version, 1 count, 36 outpoint, 1 length, 72 script, 4 sequence,
        // 1 count, then output 0: 8 value, 1 length, 67 script.
        for (len, field) in [
            (2, "version: needs 4 bytes, 2 left"),
            (4, "input count: needs 1 byte, 0 left"),
            (30, "input 0's outpoint: needs 36 bytes, 25 left"),
            (60, "input 0's script: needs 72 bytes, 18 left"),
            (115, "input 0's sequence: needs 4 bytes, 1 left"),
            (120, "output 0's value: needs 8 bytes, 1 left"),
            (135, "output 0's script: needs 67 bytes, 7 left"),
            (tx.len() - 2, "lock time: needs 4 bytes, 2 left"),
        ] {
            assert_eq!(
                cut_field(&tx[..len]).as_deref(),
                Some(field),
                "cut at {len}"
            );
        }
    }
}
