//! Ethereum addresses: parsing (case-insensitive, EIP-55 checked when mixed
//! case) and checksummed display.

use alloy_primitives::Address;

use crate::ledger::{AddressKey, AddressKind, Chain};

/// Parses `0x` + 40 hex digits. All-lowercase and all-uppercase input is
/// accepted as is; mixed case must pass its EIP-55 checksum (a typo check).
pub fn parse_address(s: &str) -> Result<Address, String> {
    let hex_part = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .filter(|h| h.len() == 40 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| {
            format!("{s:?} is not an ethereum address; expected 0x and 40 hex digits")
        })?;
    let mixed_case = hex_part.bytes().any(|b| b.is_ascii_lowercase())
        && hex_part.bytes().any(|b| b.is_ascii_uppercase());
    if mixed_case {
        return Address::parse_checksummed(format!("0x{hex_part}"), None).map_err(|_| {
            format!(
                "{s:?} fails its EIP-55 checksum (upper/lower case letters); check it for typos, or write it all in lowercase"
            )
        });
    }
    hex_part
        .to_ascii_lowercase()
        .parse()
        .map_err(|e| format!("{s:?} is not an ethereum address ({e})"))
}

/// The ledger key of an Ethereum account (externally owned or contract).
pub fn account_key(a: &Address) -> AddressKey {
    AddressKey {
        chain: Chain::Ethereum,
        kind: AddressKind::Account,
        payload: a.as_slice().to_vec(),
        detail: Vec::new(),
    }
}

/// EIP-55 checksummed display of a 20-byte account payload (lowercase hex
/// if the payload is not 20 bytes, which the ledger never stores).
pub fn display(payload: &[u8]) -> String {
    match <[u8; 20]>::try_from(payload) {
        Ok(b) => Address::from(b).to_checksum(None),
        Err(_) => format!("0x{}", hex::encode(payload)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_any_case_and_checks_mixed_case() {
        let lower = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        let sum = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let a = parse_address(lower).unwrap();
        assert_eq!(parse_address(sum).unwrap(), a);
        assert_eq!(
            parse_address(&lower.to_ascii_uppercase().replacen("0X", "0x", 1)).unwrap(),
            a
        );
        assert_eq!(display(a.as_slice()), sum);
        // One letter's case flipped: a typo the checksum catches.
        let typo = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        assert!(parse_address(typo).unwrap_err().contains("EIP-55"));
        assert!(parse_address("0x1234")
            .unwrap_err()
            .contains("40 hex digits"));
        assert!(parse_address("f39fd6e51aad88f6f4ce6ab8827279cfffb92266").is_err());
    }
}
