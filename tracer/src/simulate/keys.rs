//! Deterministic key material for simulated addresses.
//!
//! Address number `n` has the compressed public key `02 ‖ SHA-256(seed ‖ n)`;
//! its scripts hash that key exactly as wallets do (P2PKH, P2SH-P2WPKH and
//! P2WPKH commit to HASH160 of the key, P2TR to the x-only key), and spends
//! reveal it, so a spend links to its output like on the real chain.
//! Signatures are placeholders of the real sizes (nothing validates them).

use bitcoin::hashes::{hash160, sha256, Hash};
use bitcoin::script::PushBytesBuf;
use bitcoin::{PubkeyHash, ScriptBuf, WPubkeyHash, Witness, WitnessProgram, WitnessVersion};
use serde::{Deserialize, Serialize};

/// The single-key address types the simulated wallets use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddrType {
    /// Legacy pay-to-pubkey-hash (`m…`/`n…`).
    P2pkh,
    /// Nested segwit (`2…`).
    P2shP2wpkh,
    /// Native segwit v0 (`bcrt1q…`).
    P2wpkh,
    /// Taproot key path (`bcrt1p…`).
    P2tr,
}

impl AddrType {
    /// Virtual size of an input spending this type (vbytes, rounded up).
    pub fn input_vbytes(self) -> u64 {
        match self {
            AddrType::P2pkh => 148,
            AddrType::P2shP2wpkh => 91,
            AddrType::P2wpkh => 68,
            AddrType::P2tr => 58,
        }
    }

    /// Size of an output paying this type (bytes).
    pub fn output_vbytes(self) -> u64 {
        match self {
            AddrType::P2pkh => 34,
            AddrType::P2shP2wpkh => 32,
            AddrType::P2wpkh => 31,
            AddrType::P2tr => 43,
        }
    }
}

/// Derives scripts and spend data for address numbers under one seed.
pub struct Keys {
    seed: [u8; 8],
}

impl Keys {
    /// Key material for `seed`.
    pub fn new(seed: u64) -> Self {
        Keys {
            seed: seed.to_le_bytes(),
        }
    }

    fn pubkey(&self, n: u32) -> [u8; 33] {
        let mut buf = [0u8; 12];
        buf[..8].copy_from_slice(&self.seed);
        buf[8..].copy_from_slice(&n.to_le_bytes());
        let mut pk = [2u8; 33];
        pk[1..].copy_from_slice(sha256::Hash::hash(&buf).as_byte_array());
        pk
    }

    /// The output script of address `n` as type `ty`.
    pub fn script_pubkey(&self, n: u32, ty: AddrType) -> ScriptBuf {
        let pk = self.pubkey(n);
        match ty {
            AddrType::P2pkh => ScriptBuf::new_p2pkh(&PubkeyHash::from_byte_array(hash160(&pk))),
            AddrType::P2wpkh => ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array(hash160(&pk))),
            AddrType::P2shP2wpkh => ScriptBuf::new_p2sh(&redeem_script(&pk).script_hash()),
            AddrType::P2tr => {
                let prog = WitnessProgram::new(WitnessVersion::V1, &pk[1..])
                    .expect("32 bytes is a valid v1 program");
                ScriptBuf::new_witness_program(&prog)
            }
        }
    }

    /// The scriptSig and witness that spend an output of address `n` as type `ty`.
    pub fn spend(&self, n: u32, ty: AddrType) -> (ScriptBuf, Witness) {
        let pk = self.pubkey(n);
        let sig = der_signature(&pk);
        match ty {
            AddrType::P2pkh => {
                let script = bitcoin::script::Builder::new()
                    .push_slice(push(&sig))
                    .push_slice(push(&pk))
                    .into_script();
                (script, Witness::new())
            }
            AddrType::P2wpkh => (ScriptBuf::new(), Witness::from_slice(&[&sig[..], &pk[..]])),
            AddrType::P2shP2wpkh => {
                let redeem = redeem_script(&pk);
                let script = bitcoin::script::Builder::new()
                    .push_slice(push(redeem.as_bytes()))
                    .into_script();
                (script, Witness::from_slice(&[&sig[..], &pk[..]]))
            }
            AddrType::P2tr => {
                let mut schnorr = [0u8; 64];
                schnorr[..32].copy_from_slice(&pk[1..]);
                schnorr[32..].copy_from_slice(&pk[1..]);
                (ScriptBuf::new(), Witness::from_slice(&[&schnorr[..]]))
            }
        }
    }
}

fn hash160(b: &[u8]) -> [u8; 20] {
    hash160::Hash::hash(b).to_byte_array()
}

fn redeem_script(pk: &[u8; 33]) -> ScriptBuf {
    ScriptBuf::new_p2wpkh(&WPubkeyHash::from_byte_array(hash160(pk)))
}

fn push(b: &[u8]) -> PushBytesBuf {
    PushBytesBuf::try_from(b.to_vec()).expect("short push")
}

/// A 71-byte DER-shaped signature with SIGHASH_ALL (r and s from the key bytes).
fn der_signature(pk: &[u8; 33]) -> Vec<u8> {
    let mut sig = Vec::with_capacity(71);
    sig.extend_from_slice(&[0x30, 0x44, 0x02, 0x20]);
    sig.extend_from_slice(&pk[1..]);
    sig.extend_from_slice(&[0x02, 0x20]);
    sig.extend(pk[1..].iter().rev());
    sig[4] &= 0x7f; // r and s positive, as DER requires
    sig[38] &= 0x7f;
    sig.push(0x01);
    sig
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spends_reveal_the_key_the_output_commits_to() {
        let keys = Keys::new(7);
        for ty in [AddrType::P2pkh, AddrType::P2shP2wpkh, AddrType::P2wpkh] {
            let spk = keys.script_pubkey(3, ty);
            let (sig, wit) = keys.spend(3, ty);
            let pk = match ty {
                AddrType::P2pkh => sig
                    .instructions()
                    .last()
                    .unwrap()
                    .unwrap()
                    .push_bytes()
                    .unwrap()
                    .as_bytes()
                    .to_vec(),
                _ => wit.last().unwrap().to_vec(),
            };
            let h = hash160(&pk);
            match ty {
                AddrType::P2shP2wpkh => {
                    assert_eq!(
                        spk,
                        ScriptBuf::new_p2sh(&redeem_script(&pk.try_into().unwrap()).script_hash())
                    )
                }
                _ => assert!(spk.as_bytes().windows(20).any(|w| w == h)),
            }
        }
        assert_eq!(keys.script_pubkey(3, AddrType::P2tr).len(), 34);
        assert_ne!(
            keys.script_pubkey(3, AddrType::P2wpkh),
            keys.script_pubkey(4, AddrType::P2wpkh)
        );
        assert_ne!(
            Keys::new(8).script_pubkey(3, AddrType::P2wpkh),
            keys.script_pubkey(3, AddrType::P2wpkh)
        );
    }
}
