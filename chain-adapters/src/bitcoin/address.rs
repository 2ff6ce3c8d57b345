//! Addresses for every Bitcoin output script, and parsing what a user types.
//!
//! Standard scripts get the address an explorer shows. P2PK outputs are shown
//! as the P2PKH address of their key (as explorers do) but are kept as their
//! own kind, so `1…` may name a P2PKH and a P2PK address at once. Bare
//! multisig and non-standard scripts have no address format; they get a
//! stable id from the SHA-256 of the script (`multisig:2of3:<hex>`,
//! `nonstandard:<hex>`). OP_RETURN outputs have no address.

use bitcoin::hashes::{hash160, sha256, Hash};
use bitcoin::opcodes::all::OP_CHECKMULTISIG;
use bitcoin::script::Instruction;
use bitcoin::{
    Address, KnownHrp, Network, PubkeyHash, Script, ScriptHash, WitnessProgram, WitnessVersion,
};

use crate::ledger::{AddressKey, AddressKind, Chain};

/// Classifies an output script. Returns the kind and, unless it is OP_RETURN,
/// the address key to index it by.
pub fn classify(script: &Script) -> (AddressKind, Option<AddressKey>) {
    let b = script.as_bytes();
    let key = |kind, payload: &[u8], detail: &[u8]| {
        (
            kind,
            Some(AddressKey {
                chain: Chain::Bitcoin,
                kind,
                payload: payload.to_vec(),
                detail: detail.to_vec(),
            }),
        )
    };
    if script.is_p2pkh() {
        return key(AddressKind::P2pkh, &b[3..23], &[]);
    }
    if script.is_p2sh() {
        return key(AddressKind::P2sh, &b[2..22], &[]);
    }
    if let Some(pubkey) = p2pk_key(b) {
        let h = hash160::Hash::hash(pubkey);
        return key(AddressKind::P2pk, h.as_byte_array(), pubkey);
    }
    if script.is_p2wpkh() {
        return key(AddressKind::P2wpkh, &b[2..22], &[]);
    }
    if script.is_p2wsh() {
        return key(AddressKind::P2wsh, &b[2..34], &[]);
    }
    if script.is_p2tr() {
        return key(AddressKind::P2tr, &b[2..34], &[]);
    }
    if let Some(version) = script.witness_version() {
        // payload: version number, then program.
        let mut p = vec![version.to_num()];
        p.extend_from_slice(&b[2..]);
        return key(AddressKind::WitnessUnknown, &p, &[]);
    }
    if script.is_op_return() {
        return (AddressKind::NullData, None);
    }
    let digest = sha256::Hash::hash(b);
    if let Some((m, n)) = multisig_shape(script) {
        let mut detail = vec![m, n];
        detail.extend_from_slice(b);
        return key(AddressKind::BareMultisig, digest.as_byte_array(), &detail);
    }
    key(AddressKind::NonStandard, digest.as_byte_array(), b)
}

/// The public key bytes of a P2PK script (valid point or not, as explorers treat it).
fn p2pk_key(b: &[u8]) -> Option<&[u8]> {
    match b.len() {
        67 if b[0] == 65 && b[66] == 0xac => Some(&b[1..66]),
        35 if b[0] == 33 && b[34] == 0xac => Some(&b[1..34]),
        _ => None,
    }
}

/// `(m, n)` of a bare `m <keys…> n CHECKMULTISIG` script.
fn multisig_shape(script: &Script) -> Option<(u8, u8)> {
    if !script.is_multisig() {
        return None;
    }
    let mut ins = script.instructions();
    let m = match ins.next()?.ok()? {
        Instruction::Op(op) => small_int(op.to_u8())?,
        Instruction::PushBytes(_) => return None,
    };
    let mut n = 0u8;
    for i in ins {
        match i.ok()? {
            Instruction::PushBytes(_) => n = n.checked_add(1)?,
            Instruction::Op(op) if op == OP_CHECKMULTISIG => break,
            Instruction::Op(_) => {}
        }
    }
    Some((m, n))
}

fn small_int(op: u8) -> Option<u8> {
    (0x51..=0x60).contains(&op).then(|| op - 0x50)
}

/// The human-readable address of a stored key on `network`.
pub fn display(key: &AddressKey, network: Network) -> String {
    let p = &key.payload;
    let hrp = KnownHrp::from(network);
    let hash20 = || <[u8; 20]>::try_from(p.as_slice()).ok();
    let shown = match key.kind {
        AddressKind::P2pkh | AddressKind::P2pk => {
            hash20().map(|h| Address::p2pkh(PubkeyHash::from_byte_array(h), network).to_string())
        }
        AddressKind::P2sh => hash20()
            .map(|h| Address::p2sh_from_hash(ScriptHash::from_byte_array(h), network).to_string()),
        AddressKind::P2wpkh | AddressKind::P2wsh => WitnessProgram::new(WitnessVersion::V0, p)
            .ok()
            .map(|w| Address::from_witness_program(w, hrp).to_string()),
        AddressKind::P2tr => WitnessProgram::new(WitnessVersion::V1, p)
            .ok()
            .map(|w| Address::from_witness_program(w, hrp).to_string()),
        AddressKind::WitnessUnknown => p.split_first().and_then(|(v, prog)| {
            let v = WitnessVersion::try_from(*v).ok()?;
            let w = WitnessProgram::new(v, prog).ok()?;
            Some(Address::from_witness_program(w, hrp).to_string())
        }),
        AddressKind::BareMultisig => match key.detail.as_slice() {
            [m, n, ..] => Some(format!("multisig:{m}of{n}:{}", hex::encode(p))),
            _ => None,
        },
        AddressKind::NonStandard => Some(format!("nonstandard:{}", hex::encode(p))),
        AddressKind::NullData | AddressKind::Account => None,
    };
    shown.unwrap_or_else(|| format!("invalid:{}:{}", key.kind.name(), hex::encode(p)))
}

/// Why a string is not a Bitcoin address for the ledger's network.
#[derive(Debug, thiserror::Error)]
pub enum AddressError {
    /// Not any address format.
    #[error("'{0}' is not a Bitcoin address (or multisig:/nonstandard: id): {1}")]
    Invalid(String, String),
    /// A valid address of another network.
    #[error("'{0}' is an address of another network, not {1}")]
    WrongNetwork(String, Network),
}

/// The index keys a user-typed address may name. A `1…` address names both
/// its P2PKH and its P2PK form.
pub fn parse(s: &str, network: Network) -> Result<Vec<AddressKey>, AddressError> {
    let s = s.trim();
    let id_key = |kind, hex_part: &str| -> Result<Vec<AddressKey>, AddressError> {
        let payload = hex::decode(hex_part)
            .ok()
            .filter(|p| p.len() == 32)
            .ok_or_else(|| AddressError::Invalid(s.into(), "expected 64 hex digits".into()))?;
        Ok(vec![AddressKey {
            chain: Chain::Bitcoin,
            kind,
            payload,
            detail: vec![],
        }])
    };
    if let Some(rest) = s.strip_prefix("nonstandard:") {
        return id_key(AddressKind::NonStandard, rest);
    }
    if let Some(rest) = s.strip_prefix("multisig:") {
        let hex_part = rest.rsplit(':').next().unwrap_or_default();
        return id_key(AddressKind::BareMultisig, hex_part);
    }
    let unchecked: Address<bitcoin::address::NetworkUnchecked> =
        s.parse().map_err(|e: bitcoin::address::ParseError| {
            AddressError::Invalid(s.into(), e.to_string())
        })?;
    if !unchecked.is_valid_for_network(network) {
        return Err(AddressError::WrongNetwork(s.into(), network));
    }
    let addr = unchecked.assume_checked();
    let (kind, key) = classify(&addr.script_pubkey());
    let key = key.ok_or_else(|| AddressError::Invalid(s.into(), "no address".into()))?;
    let mut keys = vec![key.clone()];
    if kind == AddressKind::P2pkh {
        keys.push(AddressKey {
            kind: AddressKind::P2pk,
            ..key
        });
    }
    Ok(keys)
}
