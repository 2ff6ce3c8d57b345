//! Bitcoin networks as the `--network` flag names them, and their block magic.

use bitcoin::p2p::Magic;
use bitcoin::Network;

use crate::error::{Error, Result};

/// Parses `main`, `test`/`testnet3`, `testnet4`, `signet` or `regtest`.
pub fn parse_network(s: &str) -> Result<Network> {
    Ok(match s {
        "main" | "mainnet" | "bitcoin" => Network::Bitcoin,
        "test" | "testnet" | "testnet3" => Network::Testnet,
        "testnet4" => Network::Testnet4,
        "signet" => Network::Signet,
        "regtest" => Network::Regtest,
        other => {
            return Err(Error::Usage(format!(
                "unknown network '{other}': use main, test, testnet4, signet or regtest"
            )))
        }
    })
}

/// The flag name of a network (inverse of [`parse_network`]).
pub fn network_name(n: Network) -> &'static str {
    match n {
        Network::Bitcoin => "main",
        Network::Testnet => "test",
        Network::Testnet4 => "testnet4",
        Network::Signet => "signet",
        Network::Regtest => "regtest",
    }
}

/// The network whose blk-file magic is `bytes`, if any.
pub fn network_of_magic(bytes: [u8; 4]) -> Option<Network> {
    let m = Magic::from_bytes(bytes);
    [
        Network::Bitcoin,
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
    ]
    .into_iter()
    .find(|n| Magic::from(*n) == m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_identify_networks() {
        assert_eq!(
            network_of_magic([0xf9, 0xbe, 0xb4, 0xd9]),
            Some(Network::Bitcoin)
        );
        assert_eq!(
            network_of_magic([0x0b, 0x11, 0x09, 0x07]),
            Some(Network::Testnet)
        );
        assert_eq!(
            network_of_magic([0xfa, 0xbf, 0xb5, 0xda]),
            Some(Network::Regtest)
        );
        assert_eq!(network_of_magic([0, 0, 0, 0]), None);
        for name in ["main", "test", "testnet4", "signet", "regtest"] {
            assert_eq!(network_name(parse_network(name).unwrap()), name);
        }
        assert!(parse_network("mainnet2").is_err());
    }
}
