//! Report languages: every label a report prints, in Japanese and English.

use serde::Serialize;

/// The language of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// 日本語.
    Ja,
    /// English.
    En,
}

impl Lang {
    /// Parses `ja` or `en`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The code (`ja`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// The label for `key` (the key itself if there is none: a bug a test catches).
    pub fn t(self, key: &str) -> &'static str {
        let (ja, en) = match key {
            "title" => ("暗号資産 資金追跡報告書", "Crypto-asset fund trace report"),
            "case" => ("事件", "Case"),
            "case_id" => ("事件番号", "Case id"),
            "case_title" => ("件名", "Title"),
            "prefecture" => ("都道府県", "Prefecture"),
            "crime" => ("罪種", "Crime type"),
            "reported" => ("届出日", "Reported"),
            "incident" => ("被害期間", "Incident period"),
            "investigator" => ("担当", "Investigator"),
            "endpoints" => ("資金の到達先（交換業者等）", "Where the funds went (exchanges and other services)"),
            "service" => ("事業者", "Service"),
            "class" => ("種別", "Class"),
            "deposit_address" => ("入金アドレス", "Deposit address"),
            "amount" => ("金額", "Amount"),
            "share" => ("割合", "Share"),
            "first_seen" => ("初回着金", "First arrival"),
            "last_seen" => ("最終着金", "Last arrival"),
            "evidence" => ("根拠", "Evidence"),
            "confidence" => ("確信度", "Confidence"),
            "jpy" => ("円換算", "JPY"),
            "no_endpoints" => ("到達先は見つかっていません。", "No endpoint was reached."),
            "graph" => ("資金の流れ", "Flow of funds"),
            "graph_cut" => ("図は金額の大きい順に{n}件のホップを示します（全{m}件）。", "The graph shows the {n} largest of {m} hops."),
            "summary" => ("追跡結果の内訳", "Where every unit went"),
            "seed_value" => ("追跡元の金額", "Traced value"),
            "reached" => ("到達先に到達", "Reached endpoints"),
            "unspent" => ("未使用のまま保有", "Still held, unspent"),
            "fees" => ("手数料", "Paid as fees"),
            "coinjoins" => ("CoinJoinで停止", "Stopped at CoinJoins"),
            "no_address" => ("アドレスなし", "Sent to no address"),
            "mined" => ("新規採掘", "Newly mined"),
            "beyond" => ("制限により追跡停止", "Beyond a limit"),
            "txs" => ("判定した取引数", "Transactions judged"),
            "seeds" => ("追跡元（被害者の支払）", "Seeds (the victim's payments)"),
            "hops" => ("ホップ一覧", "Every hop"),
            "txid" => ("取引ID", "Transaction"),
            "height" => ("ブロック高", "Block"),
            "time_utc" => ("日時 (UTC)", "Time (UTC)"),
            "time_jst" => ("日時 (JST)", "Time (JST)"),
            "from" => ("送金元", "From"),
            "to" => ("送金先", "To"),
            "value" => ("出力額", "Output value"),
            "hop" => ("ホップ", "Hop"),
            "rule" => ("規則", "Rule"),
            "heuristics" => ("ヒューリスティック", "Heuristics"),
            "methodology" => ("手法", "Methodology"),
            "model" => ("汚染モデル", "Taint model"),
            "granularity" => ("集約単位", "Nodes"),
            "coinjoin_policy" => ("CoinJoinの扱い", "CoinJoins"),
            "limits" => ("追跡の制限", "Limits"),
            "heuristic" => ("ヒューリスティック", "Heuristic"),
            "used_for" => ("用途", "Used for"),
            "prior" => ("事前確信度", "Prior confidence"),
            "measured" => ("測定精度 (tracer evaluate)", "Measured precision (tracer evaluate)"),
            "not_measured" => ("未測定", "not measured"),
            "models" => ("モデル比較", "Models compared"),
            "provenance" => ("データの出所", "Data provenance"),
            "chain" => ("チェーン", "Chain"),
            "network" => ("ネットワーク", "Network"),
            "tip" => ("台帳の先端", "Ledger tip"),
            "block_range" => ("対象ブロック", "Blocks in the trace"),
            "clusters" => ("クラスタ構築", "Cluster build"),
            "source" => ("データ源", "Data source"),
            "tool" => ("ツール", "Tool"),
            "fingerprint" => ("台帳フィンガープリント (SHA-256)", "Ledger fingerprint (SHA-256)"),
            "prices" => ("価格データ", "Prices"),
            "regenerate" => ("再現手順", "How to regenerate"),
            "regenerate_note" => ("同じ台帳に対して次のコマンドを実行すると、同一のファイル（バイト単位で一致）が得られます。", "Running these commands on the same ledger writes byte-identical files."),
            "barriers" => ("CoinJoin（追跡停止点）", "CoinJoin barriers"),
            "kind" => ("種類", "Kind"),
            "none" => ("なし", "none"),
            "yes" => ("あり", "yes"),
            "sweep" => ("集約送金", "sweep"),
            "pdf_font" => ("PDFフォント", "PDF font"),
            _ => return "",
        };
        self.pick(ja, en)
    }

    /// `ja` or `en`, whichever is this language.
    pub fn pick(self, ja: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Ja => ja,
            Lang::En => en,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_used_by_the_renderers_has_both_languages() {
        for key in crate::html::KEYS
            .iter()
            .chain(crate::table::KEYS)
            .chain(&["pdf_font"])
        {
            for lang in [Lang::Ja, Lang::En] {
                assert!(!lang.t(key).is_empty(), "{key} has no {lang:?} label");
            }
        }
    }
}
