//! Broad classes of tagged entities, derived from concept ids.

use super::taxonomy;
use super::Tag;

pub use trace_file::TagClass;

/// The class of a single concept id, from the nearest concept in its
/// lineage (the concept itself, then its broader concepts in
/// `concepts.yaml`) that has a class. `ransomware` sits under `extortion`
/// and so is checked before it; `coinjoin` sits under `mixing`.
pub fn concept_class(id: &str) -> Option<TagClass> {
    let tax = taxonomy::get().ok()?;
    if !tax.is_concept(id) {
        return None;
    }
    tax.lineage(id).find_map(direct_class)
}

/// Concepts that name a class themselves.
fn direct_class(id: &str) -> Option<TagClass> {
    Some(match id {
        "sanction" | "gov_black_list" => TagClass::Sanctioned,
        "ransomware" => TagClass::Ransomware,
        "scam" | "phishing" | "investment_fraud" | "payment_card_fraud" | "extortion"
        | "social_engineering" => TagClass::ScamFraud,
        "mixing_service" | "mixing" => TagClass::Mixer,
        "exchange" | "atm" => TagClass::Exchange,
        "gambling" => TagClass::Gambling,
        "miner" | "mining_service" => TagClass::Miner,
        "shop" | "payment_processor" | "market" => TagClass::Merchant,
        _ => return None,
    })
}

/// Order in which classes win among a tag's extra `concepts`.
const PRIORITY: [TagClass; 8] = [
    TagClass::Sanctioned,
    TagClass::Ransomware,
    TagClass::ScamFraud,
    TagClass::Mixer,
    TagClass::Exchange,
    TagClass::Gambling,
    TagClass::Miner,
    TagClass::Merchant,
];

/// See [`Tag::class`].
pub(crate) fn classify(tag: &Tag) -> TagClass {
    if let Some(class) = tag.abuse.as_deref().and_then(concept_class) {
        return class;
    }
    if let Some(class) = tag.category.as_deref().and_then(concept_class) {
        return class;
    }
    let found: Vec<TagClass> = tag
        .concepts
        .iter()
        .filter_map(|c| concept_class(c))
        .collect();
    PRIORITY
        .into_iter()
        .find(|p| found.contains(p))
        .unwrap_or(TagClass::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concept_classes_follow_the_taxonomy() {
        let cases = [
            ("exchange", Some(TagClass::Exchange)),
            ("atm", Some(TagClass::Exchange)),
            ("mixing_service", Some(TagClass::Mixer)),
            ("coinjoin", Some(TagClass::Mixer)),
            ("sanction", Some(TagClass::Sanctioned)),
            ("gov_black_list", Some(TagClass::Sanctioned)),
            ("scam", Some(TagClass::ScamFraud)),
            ("phishing", Some(TagClass::ScamFraud)),
            ("pyramid_scheme", Some(TagClass::ScamFraud)),
            ("sextortion", Some(TagClass::ScamFraud)),
            ("ransomware", Some(TagClass::Ransomware)),
            ("gambling", Some(TagClass::Gambling)),
            ("miner", Some(TagClass::Miner)),
            ("mining_service", Some(TagClass::Miner)),
            ("shop", Some(TagClass::Merchant)),
            ("payment_processor", Some(TagClass::Merchant)),
            ("market", Some(TagClass::Merchant)),
            ("user", None),
            ("service_hack", None),
            ("money_laundering", None),
            ("defi_dex", None),
            ("no_such_concept", None),
        ];
        for (id, class) in cases {
            assert_eq!(concept_class(id), class, "{id}");
        }
        assert!(TagClass::Exchange.is_service());
        assert!(TagClass::Merchant.is_service());
        assert!(!TagClass::Sanctioned.is_service());
        assert!(!TagClass::ScamFraud.is_service());
        assert!(!TagClass::Other.is_service());
    }
}
