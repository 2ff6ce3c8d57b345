//! Terms the reports print, in the report's language: prefectures, crime
//! types, the trace's rules and heuristics, service classes, node roles,
//! taint models, limits and shared entities. Trace files and the JSON
//! reports keep the identifiers (`Osaka`, `investment_fraud`,
//! `deposit_sweep`); the HTML, PDF and CSV files show these terms, so a
//! Japanese report is Japanese throughout and an English one English.

use crate::lang::Lang;

/// The 47 prefectures as case files store them (English names, JIS X 0401
/// order), whose police forces open the cases.
pub const PREFECTURES: [&str; 47] = [
    "Hokkaido",
    "Aomori",
    "Iwate",
    "Miyagi",
    "Akita",
    "Yamagata",
    "Fukushima",
    "Ibaraki",
    "Tochigi",
    "Gunma",
    "Saitama",
    "Chiba",
    "Tokyo",
    "Kanagawa",
    "Niigata",
    "Toyama",
    "Ishikawa",
    "Fukui",
    "Yamanashi",
    "Nagano",
    "Gifu",
    "Shizuoka",
    "Aichi",
    "Mie",
    "Shiga",
    "Kyoto",
    "Osaka",
    "Hyogo",
    "Nara",
    "Wakayama",
    "Tottori",
    "Shimane",
    "Okayama",
    "Hiroshima",
    "Yamaguchi",
    "Tokushima",
    "Kagawa",
    "Ehime",
    "Kochi",
    "Fukuoka",
    "Saga",
    "Nagasaki",
    "Kumamoto",
    "Oita",
    "Miyazaki",
    "Kagoshima",
    "Okinawa",
];

/// Japanese names of the prefectures, in the order of [`PREFECTURES`].
pub const PREFECTURES_JA: [&str; 47] = [
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
];

/// Identifiers of trace files with their Japanese terms (an English report
/// prints the identifier): rules, heuristics, what a heuristic decided,
/// service classes, node roles, models, levels, CoinJoin policies and
/// protocols, limits, shared entities, chains and networks.
const JA: &[(&str, &str)] = &[
    // Hop rules.
    ("transfer", "送金"),
    ("self_change", "送金元へのお釣り"),
    ("change", "お釣り"),
    ("same_cluster", "同一クラスタ内の移動"),
    ("coinjoin", "CoinJoin"),
    ("coinjoin_exit", "CoinJoin出口の推定"),
    // Endpoint rules.
    ("tagged_address", "タグ付きアドレス"),
    ("tagged_cluster", "タグ付きクラスタ"),
    ("deposit_sweep", "入金アドレスからの集約送金"),
    ("deposit_address_reuse", "入金アドレスの再利用"),
    ("deposit_reuse", "入金アドレスの共用"),
    // Heuristics.
    ("multi_input", "複数入力の共同支出"),
    ("fresh_address", "新規アドレス"),
    ("address_reuse", "アドレス再利用"),
    ("script_type", "スクリプト種別"),
    ("round_payment", "端数のない支払額"),
    ("optimal_change", "最適なお釣り"),
    ("locktime", "ロックタイムの習慣"),
    ("version", "取引バージョン"),
    ("rbf", "RBF表示の習慣"),
    ("output_count", "出力数"),
    ("peel_chain", "ピールチェーン"),
    // What a heuristic decided.
    ("clusters", "クラスタ"),
    ("hops", "ホップ"),
    ("endpoints", "到達先"),
    // Service classes.
    ("exchange", "交換業者"),
    ("mixer", "ミキサー"),
    ("sanctioned", "制裁対象"),
    ("scamfraud", "詐欺"),
    ("ransomware", "ランサムウェア"),
    ("gambling", "賭博"),
    ("miner", "マイニング"),
    ("merchant", "加盟店・決済代行"),
    ("other", "その他"),
    // Node roles.
    ("seed", "追跡元"),
    ("endpoint", "到達先"),
    ("intermediate", "中継"),
    ("limit", "制限で停止"),
    ("unspent", "未使用"),
    // Taint models.
    ("haircut", "按分（ヘアカット）"),
    ("poison", "全額汚染（ポイズン）"),
    ("fifo", "先入先出（FIFO）"),
    ("lifo", "後入先出（LIFO）"),
    // Nodes and CoinJoin policies.
    ("address", "アドレス"),
    ("cluster", "クラスタ"),
    ("cospend", "共同支出"),
    ("barrier", "停止"),
    ("through", "通過"),
    ("exits", "出口を推定して通過"),
    // CoinJoin protocols (their own names).
    ("whirlpool", "Whirlpool"),
    ("whirlpool_tx0", "Whirlpool TX0"),
    ("wasabi1", "Wasabi 1.x"),
    ("wasabi2", "Wasabi 2.x"),
    ("joinmarket", "JoinMarket"),
    // Limits.
    ("max_hops", "最大ホップ数"),
    ("min_amount", "最小金額"),
    ("time_limit", "期限"),
    ("max_txs", "判定取引数の上限"),
    // Shared entities.
    ("deposit_address", "入金アドレス"),
    ("transaction", "取引"),
    // Chains and networks.
    ("bitcoin", "ビットコイン"),
    ("ethereum", "イーサリアム"),
    ("main", "メインネット"),
    ("test", "テストネット"),
    ("testnet4", "テストネット4"),
    ("signet", "シグネット"),
    ("regtest", "リグテスト（試験用）"),
];

/// A prefecture's name in `lang` (given its English name; anything else
/// as it is).
pub fn prefecture(english: &str, lang: Lang) -> String {
    match (lang, PREFECTURES.iter().position(|p| *p == english)) {
        (Lang::Ja, Some(i)) => PREFECTURES_JA[i].to_string(),
        _ => english.to_string(),
    }
}

/// A crime type's label in `lang` (given its identifier; anything else as
/// it is).
pub fn crime(name: &str, lang: Lang) -> String {
    match trace_file::Crime::parse(name) {
        Some(c) => lang.pick(c.label_ja(), c.label_en()).to_string(),
        None => name.to_string(),
    }
}

/// An identifier's term in `lang`: Japanese from the table, else the
/// identifier itself.
pub fn term(id: &str, lang: Lang) -> &str {
    match lang {
        Lang::Ja => JA.iter().find(|(k, _)| *k == id).map_or(id, |(_, ja)| ja),
        Lang::En => id,
    }
}

/// `text` made of identifiers and punctuation (`coinjoin_exit
/// (whirlpool+deposit_address_reuse)`, `max_hops 10, min_amount 10000`)
/// with every known identifier put in `lang`.
pub fn phrase(text: &str, lang: Lang) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        out.push_str(term(&word, lang));
        word.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefectures_crimes_and_rules_in_each_language() {
        assert_eq!(prefecture("Osaka", Lang::Ja), "大阪府");
        assert_eq!(prefecture("Aomori", Lang::Ja), "青森県");
        assert_eq!(prefecture("Osaka", Lang::En), "Osaka");
        assert_eq!(crime("investment_fraud", Lang::Ja), "SNS型投資詐欺");
        assert_eq!(crime("investment_fraud", Lang::En), "investment fraud");
        assert_eq!(
            phrase("coinjoin_exit (whirlpool+deposit_address_reuse)", Lang::Ja),
            "CoinJoin出口の推定 (Whirlpool+入金アドレスの再利用)"
        );
        assert_eq!(
            phrase("max_hops 10, time_limit -", Lang::Ja),
            "最大ホップ数 10, 期限 -"
        );
        assert_eq!(
            phrase("fresh_address+script_type", Lang::En),
            "fresh_address+script_type"
        );
    }

    #[test]
    fn every_prefecture_has_its_japanese_name() {
        let ja: std::collections::BTreeSet<&str> = PREFECTURES_JA.iter().copied().collect();
        assert_eq!(ja.len(), 47);
        assert!(PREFECTURES_JA
            .iter()
            .all(|p| p.ends_with(['都', '道', '府', '県'])));
        let keys: std::collections::BTreeSet<&str> = JA.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), JA.len(), "each identifier once");
    }
}
