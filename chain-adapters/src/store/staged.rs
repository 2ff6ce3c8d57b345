//! Writes to one column family, kept in one byte arena (no allocation per
//! write) until they are sorted into a `WriteBatch` or a sorted file.

use rocksdb::{SstFileWriter, WriteBatch};

use super::COLUMN_FAMILIES;

/// Pending writes to one column family.
#[derive(Default)]
pub(super) struct Staged {
    data: Vec<u8>,
    ops: Vec<StagedOp>,
}

struct StagedOp {
    /// The key's first 8 bytes (zero-padded) as a big-endian number: most
    /// comparisons in the sort end there, without comparing bytes in memory.
    prefix: u64,
    key: (usize, usize),
    value: Option<(usize, usize)>,
}

/// The first 8 bytes of `k` (zero-padded) as a big-endian number: ordering
/// by it agrees with ordering the keys bytewise, up to ties.
fn key_prefix(k: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = k.len().min(8);
    b[..n].copy_from_slice(&k[..n]);
    u64::from_be_bytes(b)
}

impl Staged {
    /// One empty arena per column family, in [`COLUMN_FAMILIES`] order.
    pub fn per_column_family() -> Vec<Staged> {
        (0..COLUMN_FAMILIES.len())
            .map(|_| Staged::default())
            .collect()
    }

    /// Stages a put (`Some` value) or a delete (`None`).
    pub fn push(&mut self, k: &[u8], v: Option<&[u8]>) {
        let ks = self.data.len();
        self.data.extend_from_slice(k);
        let value = v.map(|v| {
            let vs = self.data.len();
            self.data.extend_from_slice(v);
            (vs, v.len())
        });
        self.ops.push(StagedOp {
            prefix: key_prefix(k),
            key: (ks, k.len()),
            value,
        });
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Hands `f` each key's last write (a put's value, or `None` for a
    /// delete) in key order — what the writes leave behind — and empties
    /// the arena, keeping its capacity.
    fn drain_sorted<E>(
        &mut self,
        mut f: impl FnMut(&[u8], Option<&[u8]>) -> Result<(), E>,
    ) -> Result<(), E> {
        let data = &self.data;
        let slice = |(s, n): (usize, usize)| &data[s..s + n];
        // Stable: writes to one key keep their order, the last one wins.
        self.ops.sort_by(|a, b| {
            a.prefix
                .cmp(&b.prefix)
                .then_with(|| slice(a.key).cmp(slice(b.key)))
        });
        let mut result = Ok(());
        for (i, op) in self.ops.iter().enumerate() {
            let key = slice(op.key);
            if self.ops.get(i + 1).is_some_and(|n| slice(n.key) == key) {
                continue;
            }
            result = f(key, op.value.map(slice));
            if result.is_err() {
                break;
            }
        }
        self.ops.clear();
        self.data.clear();
        result
    }

    /// Moves the writes into `batch` in key order.
    pub fn write_sorted(&mut self, batch: &mut WriteBatch, cf: &rocksdb::ColumnFamily) {
        let _ = self.drain_sorted(|k, v| -> Result<(), ()> {
            match v {
                Some(v) => batch.put_cf(cf, k, v),
                None => batch.delete_cf(cf, k),
            }
            Ok(())
        });
    }

    /// Writes the writes to `file` in key order (a sorted file takes each
    /// key once).
    pub fn write_file(&mut self, file: &mut SstFileWriter<'_>) -> Result<(), rocksdb::Error> {
        self.drain_sorted(|k, v| match v {
            Some(v) => file.put(k, v),
            None => file.delete(k),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_keeps_its_last_write_in_key_order() {
        let mut s = Staged::default();
        s.push(b"b", Some(b"1"));
        s.push(b"a", Some(b"2"));
        s.push(b"b", None);
        s.push(b"abcdefgh2", Some(b"3"));
        s.push(b"abcdefgh1", Some(b"4"));
        s.push(b"a", Some(b"5"));
        let mut seen = Vec::new();
        s.drain_sorted(|k, v| -> Result<(), ()> {
            seen.push((k.to_vec(), v.map(<[u8]>::to_vec)));
            Ok(())
        })
        .unwrap();
        let want: Vec<(Vec<u8>, Option<Vec<u8>>)> = vec![
            (b"a".to_vec(), Some(b"5".to_vec())),
            (b"abcdefgh1".to_vec(), Some(b"4".to_vec())),
            (b"abcdefgh2".to_vec(), Some(b"3".to_vec())),
            (b"b".to_vec(), None),
        ];
        assert_eq!(seen, want);
        assert!(s.is_empty());
    }
}
