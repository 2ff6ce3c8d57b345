//! The normalised ledger model shared by UTXO chains (Bitcoin) and account
//! chains (Ethereum).
//!
//! A transaction has *inputs* (value leaving addresses) and *outputs* (value
//! arriving at addresses). On a UTXO chain an input spends an earlier output
//! and carries that output's address and value, resolved at ingest. On an
//! account chain a transaction is a list of transfers: each output names its
//! sender in [`Output::from`] and the inputs stay empty. Addresses and
//! transactions get dense integer ids ([`AddrId`], [`TxId`]) in order of first
//! appearance, so clustering can run over flat arrays.

pub mod codec;
mod records;

pub use records::*;

use serde::Serialize;

/// Dense id of an address, allocated in order of first appearance (0, 1, 2, …).
pub type AddrId = u32;
/// Dense id of a transaction, in chain order (0, 1, 2, …).
pub type TxId = u64;
/// An amount in the chain's smallest unit (satoshi, wei, token base unit).
pub type Amount = u128;

/// Writes an amount into JSON as a string of its decimal digits (smallest
/// units, signed for a net flow), as every JSON file and view of tracer
/// does: JSON numbers lose digits past 2^53 in most readers, and wei amounts
/// pass that every day. Use with `#[serde(serialize_with = "amount_text")]`.
pub fn amount_text<S: serde::Serializer, N: std::fmt::Display>(
    v: &N,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// A 32-byte hash (block hash or txid) in internal byte order.
pub type Hash32 = [u8; 32];

/// The chains the ledger holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Chain {
    /// Bitcoin (any network; the store records which).
    Bitcoin = 0,
    /// Ethereum.
    Ethereum = 1,
}

impl Chain {
    /// Decodes the one-byte tag.
    pub fn from_u8(b: u8) -> Option<Chain> {
        match b {
            0 => Some(Chain::Bitcoin),
            1 => Some(Chain::Ethereum),
            _ => None,
        }
    }

    /// How a transaction or block hash of this chain is shown: Bitcoin in
    /// reversed byte order (as explorers do), Ethereum as `0x` + hex.
    pub fn hash_hex(self, h: &Hash32) -> String {
        match self {
            Chain::Bitcoin => {
                let mut r = *h;
                r.reverse();
                hex::encode(r)
            }
            Chain::Ethereum => format!("0x{}", hex::encode(h)),
        }
    }

    /// The chain's name as users type it.
    pub fn name(self) -> &'static str {
        match self {
            Chain::Bitcoin => "bitcoin",
            Chain::Ethereum => "ethereum",
        }
    }

    /// Ticker of the chain's own coin (`BTC`, `ETH`).
    pub fn coin(self) -> &'static str {
        match self {
            Chain::Bitcoin => "BTC",
            Chain::Ethereum => "ETH",
        }
    }

    /// Decimal places of the coin's smallest unit (satoshi 8, wei 18).
    pub fn decimals(self) -> u8 {
        match self {
            Chain::Bitcoin => 8,
            Chain::Ethereum => 18,
        }
    }
}

/// How an output's locking script or an account is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// Pay-to-pubkey: displayed as the P2PKH address of the key, kept apart from P2PKH.
    P2pk = 0,
    /// Pay-to-pubkey-hash (1…).
    P2pkh = 1,
    /// Pay-to-script-hash (3…).
    P2sh = 2,
    /// Native SegWit v0 key hash (bc1q…, 20 bytes).
    P2wpkh = 3,
    /// Native SegWit v0 script hash (bc1q…, 32 bytes).
    P2wsh = 4,
    /// Taproot (bc1p…).
    P2tr = 5,
    /// A witness program of a version not yet defined (v2–v16) or odd length.
    WitnessUnknown = 6,
    /// Bare `m`-of-`n` CHECKMULTISIG output.
    BareMultisig = 7,
    /// A script no standard template matches; identified by its SHA-256.
    NonStandard = 8,
    /// OP_RETURN data carrier: no address.
    NullData = 9,
    /// Ethereum externally owned account or contract.
    Account = 10,
}

impl AddressKind {
    /// Decodes the one-byte tag.
    pub fn from_u8(b: u8) -> Option<AddressKind> {
        use AddressKind::*;
        Some(match b {
            0 => P2pk,
            1 => P2pkh,
            2 => P2sh,
            3 => P2wpkh,
            4 => P2wsh,
            5 => P2tr,
            6 => WitnessUnknown,
            7 => BareMultisig,
            8 => NonStandard,
            9 => NullData,
            10 => Account,
            _ => return None,
        })
    }

    /// Short lowercase name (`p2pkh`, `p2tr`, …).
    pub fn name(self) -> &'static str {
        use AddressKind::*;
        match self {
            P2pk => "p2pk",
            P2pkh => "p2pkh",
            P2sh => "p2sh",
            P2wpkh => "p2wpkh",
            P2wsh => "p2wsh",
            P2tr => "p2tr",
            WitnessUnknown => "witness_unknown",
            BareMultisig => "multisig",
            NonStandard => "nonstandard",
            NullData => "op_return",
            Account => "account",
        }
    }
}

/// The identity of an address: what the store indexes it by.
///
/// `payload` is the script's identifying bytes (a key or script hash, a witness
/// program, the SHA-256 of a multisig or non-standard script, or an Ethereum
/// address). `detail` keeps what display needs beyond that (a P2PK public key,
/// a multisig script) and is not part of the identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressKey {
    /// Chain the address lives on.
    pub chain: Chain,
    /// Script or account shape.
    pub kind: AddressKind,
    /// Identifying bytes.
    pub payload: Vec<u8>,
    /// Extra bytes needed to show the address (not part of its identity).
    pub detail: Vec<u8>,
}

impl AddressKey {
    /// The bytes the address index is keyed by: chain, kind, payload.
    pub fn index_key(&self) -> Vec<u8> {
        self.with_index_key(<[u8]>::to_vec)
    }

    /// Calls `f` with the [`AddressKey::index_key`] bytes, built on the stack
    /// when they are short (every standard script's are): no allocation.
    pub fn with_index_key<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let n = 2 + self.payload.len();
        let mut buf = [0u8; 64];
        let mut heap = Vec::new();
        let k = if n <= buf.len() {
            &mut buf[..n]
        } else {
            heap.resize(n, 0);
            &mut heap[..]
        };
        k[0] = self.chain as u8;
        k[1] = self.kind as u8;
        k[2..].copy_from_slice(&self.payload);
        f(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_key_is_chain_kind_payload_however_long() {
        for len in [20, 32, 62, 63, 100] {
            let key = AddressKey {
                chain: Chain::Bitcoin,
                kind: AddressKind::NonStandard,
                payload: (0..len as u8).collect(),
                detail: vec![1, 2, 3],
            };
            let mut want = vec![Chain::Bitcoin as u8, AddressKind::NonStandard as u8];
            want.extend(0..len as u8);
            assert_eq!(key.index_key(), want, "payload of {len} bytes");
        }
    }
}
