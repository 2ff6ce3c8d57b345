//! Compact binary encoding for hot ledger records: LEB128 varints and
//! length-prefixed byte strings. Decoding never panics on untrusted bytes.

use std::fmt;

/// A record in the store could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// What was being decoded when the bytes ran out or made no sense.
    pub what: &'static str,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corrupt ledger record: cannot decode {}", self.what)
    }
}

impl std::error::Error for DecodeError {}

/// Appends values to a byte buffer.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// A writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Writer {
            buf: Vec::with_capacity(n),
        }
    }

    /// Unsigned LEB128.
    pub fn uvar(&mut self, mut v: u128) -> &mut Self {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return self;
            }
            self.buf.push(byte | 0x80);
        }
    }

    /// Signed value, zig-zag encoded.
    pub fn ivar(&mut self, v: i64) -> &mut Self {
        self.uvar(((v << 1) ^ (v >> 63)) as u64 as u128)
    }

    /// One raw byte.
    pub fn byte(&mut self, b: u8) -> &mut Self {
        self.buf.push(b);
        self
    }

    /// Raw bytes of a fixed, known length (hashes).
    pub fn fixed(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.uvar(b.len() as u128);
        self.fixed(b)
    }

    /// An optional id, stored as id+1 (0 means none).
    pub fn opt_id(&mut self, id: Option<u64>) -> &mut Self {
        self.uvar(id.map_or(0, |i| i as u128 + 1))
    }

    /// The encoded bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// Reads values back from a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Unsigned LEB128 (at most 19 bytes, i.e. 128 bits).
    pub fn uvar(&mut self, what: &'static str) -> Result<u128, DecodeError> {
        let mut v: u128 = 0;
        for shift in (0..128).step_by(7) {
            let b = *self.buf.get(self.pos).ok_or(DecodeError { what })?;
            self.pos += 1;
            let part = u128::from(b & 0x7f);
            if shift == 126 && part > 3 {
                return Err(DecodeError { what });
            }
            v |= part << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError { what })
    }

    /// Unsigned varint that must fit in a u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        u64::try_from(self.uvar(what)?).map_err(|_| DecodeError { what })
    }

    /// Unsigned varint that must fit in a u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        u32::try_from(self.uvar(what)?).map_err(|_| DecodeError { what })
    }

    /// Zig-zag signed varint.
    pub fn ivar(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        let u = self.u64(what)?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// One raw byte.
    pub fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or(DecodeError { what })?;
        self.pos += 1;
        Ok(b)
    }

    /// `N` raw bytes.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let end = self.pos.checked_add(N).ok_or(DecodeError { what })?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError { what })?;
        self.pos = end;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Length-prefixed bytes.
    pub fn bytes(&mut self, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let n = usize::try_from(self.uvar(what)?).map_err(|_| DecodeError { what })?;
        let end = self.pos.checked_add(n).ok_or(DecodeError { what })?;
        let s = self.buf.get(self.pos..end).ok_or(DecodeError { what })?;
        self.pos = end;
        Ok(s)
    }

    /// An optional id written by [`Writer::opt_id`].
    pub fn opt_id(&mut self, what: &'static str) -> Result<Option<u64>, DecodeError> {
        let v = self.u64(what)?;
        Ok(v.checked_sub(1))
    }

    /// A count of items that follow, bounded by the bytes left (each item takes at least one byte).
    pub fn count(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let n = self.u64(what)?;
        if n > (self.buf.len() - self.pos) as u64 {
            return Err(DecodeError { what });
        }
        Ok(n as usize)
    }

    /// Fails unless every byte was consumed.
    pub fn end(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.pos == self.buf.len() {
            Ok(())
        } else {
            Err(DecodeError { what })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        let values = [0u128, 1, 127, 128, 300, u64::MAX as u128, u128::MAX];
        let mut w = Writer::default();
        for v in values {
            w.uvar(v);
        }
        w.ivar(-1).ivar(i64::MIN).ivar(i64::MAX);
        let buf = w.finish();
        let mut r = Reader::new(&buf);
        for v in values {
            assert_eq!(r.uvar("v").unwrap(), v);
        }
        assert_eq!(r.ivar("i").unwrap(), -1);
        assert_eq!(r.ivar("i").unwrap(), i64::MIN);
        assert_eq!(r.ivar("i").unwrap(), i64::MAX);
        r.end("end").unwrap();
        // 300 encodes in two bytes, as LEB128 does.
        assert_eq!(Writer::default().uvar(300).buf, vec![0xac, 0x02]);
    }

    #[test]
    fn truncated_or_overlong_input_is_an_error_not_a_panic() {
        assert!(Reader::new(&[0x80]).uvar("x").is_err());
        assert!(Reader::new(&[0xff; 20]).uvar("x").is_err());
        assert!(Reader::new(&[0x05, 1, 2]).bytes("x").is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0x0f]).count("n").is_err());
        assert!(Reader::new(&[1, 2]).array::<3>("h").is_err());
    }
}
