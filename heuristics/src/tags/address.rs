//! Checking a tag's address against its network before it is accepted.
//!
//! * `BTC`: a Bitcoin address — Base58Check (P2PKH, P2SH) with a Bitcoin
//!   version byte, or Bech32 (witness v0) / Bech32m (v1+) with a Bitcoin
//!   prefix (`bc`, `tb`, `bcrt`), checksum and program length verified by
//!   the `bitcoin` crate; tracer's own `multisig:…` and `nonstandard:…`
//!   forms are accepted too. Mainnet, testnet, signet and regtest addresses
//!   are all Bitcoin addresses here: which network a ledger holds is decided
//!   when tags are matched to it (a testnet address tags nothing in a
//!   mainnet ledger).
//! * `ETH`: `0x` and 40 hex digits; mixed case must pass its EIP-55
//!   checksum.
//! * Any other network: not checked (tracer's ledger has no such chain);
//!   the import summary counts these tags per network.
//!
//! The check follows the tag's `network` (a USDT tag on network `ETH` has
//! an Ethereum address), not its currency.

use chain_adapters::bitcoin::address as btc_address;

/// The outcome of a successful check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Checked {
    /// The address is valid on the tag's network.
    Valid,
    /// The network's addresses are not checked.
    NotChecked,
}

/// Checks `address` for `network` (upper-case); the error says why it is
/// not an address of that network.
pub(crate) fn check(network: &str, address: &str) -> Result<Checked, String> {
    let a = address.trim();
    match network {
        "BTC" => bitcoin(a).map(|()| Checked::Valid),
        "ETH" => chain_adapters::ethereum::parse_address(a)
            .map(|_| Checked::Valid)
            .map_err(|e| format!("not an Ethereum address: {e}")),
        _ => Ok(Checked::NotChecked),
    }
}

fn bitcoin(a: &str) -> Result<(), String> {
    if a.starts_with("multisig:") || a.starts_with("nonstandard:") {
        return btc_address::parse(a, bitcoin::Network::Bitcoin)
            .map(|_| ())
            .map_err(|e| format!("not a Bitcoin address: {e}"));
    }
    let bech32 = ["bc1", "tb1", "bcrt1"]
        .iter()
        .any(|p| a.to_ascii_lowercase().starts_with(p));
    if !bech32 {
        // Base58Check with a Bitcoin version byte and 20 bytes of hash is a
        // P2PKH or P2SH address of a Bitcoin network.
        return base58(a).map_err(|why| format!("not a Bitcoin address: {a:?} ({why})"));
    }
    let parsed: bitcoin::Address<bitcoin::address::NetworkUnchecked> = a
        .parse()
        .map_err(|e| format!("not a Bitcoin address: {a:?} ({e})"))?;
    let networks = [
        bitcoin::Network::Bitcoin,
        bitcoin::Network::Testnet,
        bitcoin::Network::Regtest,
    ];
    if networks.iter().any(|n| parsed.is_valid_for_network(*n)) {
        Ok(())
    } else {
        Err(format!("not a Bitcoin address: {a:?} (no Bitcoin network)"))
    }
}

/// Why `a` is not a Base58Check Bitcoin address, in the investigator's
/// terms (the `bitcoin` crate only says "base58 error").
fn base58(a: &str) -> Result<(), String> {
    let payload = bitcoin::base58::decode_check(a).map_err(|e| match e {
        bitcoin::base58::Error::IncorrectChecksum(_) => {
            "Base58Check checksum mismatch: mistyped or altered".to_owned()
        }
        bitcoin::base58::Error::Decode(e) => format!("not Base58: {e}"),
        e => format!("not Base58Check: {e}"),
    })?;
    match payload.as_slice() {
        [0x00 | 0x05 | 0x6f | 0xc4, rest @ ..] if rest.len() == 20 => Ok(()),
        [version, rest @ ..] if rest.len() == 20 => Err(format!(
            "Base58Check version byte {version:#04x} is not Bitcoin's (0x00, 0x05; testnet 0x6f, 0xc4){}",
            if *version == 0x41 { ": a TRON address" } else { "" }
        )),
        _ => Err(format!(
            "Base58Check payload of {} bytes; a Bitcoin address has 21",
            payload.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_addresses_are_checked_with_their_checksums() {
        for good in [
            "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s",
            "3FZbgi29cpjq2GjdwV8eyHuJJnkLtktZc5",
            "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
            "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ",
            "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297",
            "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
            "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
        ] {
            assert_eq!(check("BTC", good), Ok(Checked::Valid), "{good}");
        }
        for (bad, why) in [
            // Last character changed: Base58Check checksum.
            ("1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1t", "checksum mismatch"),
            // Lower-cased: `l` is not a Base58 character.
            ("14bwh6gmvol5ntwbvxqjkjdtzv4y5ebtvm", "not Base58"),
            // Bech32 checksum.
            ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdp", "not a Bitcoin address"),
            // Mixed case Bech32.
            ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwF5mdq", "not a Bitcoin address"),
            // A TRON address (Base58Check, version 0x41), as ofac.yaml has one under BTC.
            ("TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", "version byte 0x41 is not Bitcoin's (0x00, 0x05; testnet 0x6f, 0xc4): a TRON address"),
            // A Litecoin Bech32 address.
            ("ltc1qg82tvl6a4x6wa5h6pnqy4f4l5t0hnvzs0x8s2k", "not a Bitcoin address"),
            // Taproot (v1) encoded with Bech32 instead of Bech32m.
            ("bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusn5pxqu", "not a Bitcoin address"),
            ("", "not a Bitcoin address"),
        ] {
            let e = check("BTC", bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn ethereum_addresses_follow_eip55_when_mixed_case() {
        let checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert_eq!(check("ETH", checksummed), Ok(Checked::Valid));
        assert_eq!(
            check("ETH", &checksummed.to_ascii_lowercase()),
            Ok(Checked::Valid)
        );
        let e = check("ETH", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD").unwrap_err();
        assert!(e.contains("EIP-55"), "{e}");
        let e = check("ETH", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae").unwrap_err();
        assert!(e.contains("40 hex digits"), "{e}");
    }

    #[test]
    fn other_networks_are_not_checked() {
        assert_eq!(check("LTC", "anything at all"), Ok(Checked::NotChecked));
        assert_eq!(
            check("TRX", "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"),
            Ok(Checked::NotChecked)
        );
    }
}
