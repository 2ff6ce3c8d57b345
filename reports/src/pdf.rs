//! The printable report (`report.pdf`): the same sections as the HTML, on
//! A4 pages, Japanese and English text in a real CJK font embedded as a
//! subset (krilla), and the flow graph drawn as vector boxes and arrows.
//! Byte-identical for the same report and font: no dates, and the document
//! id is derived from the case id.
//!
//! Layout happens first (text wrapped by measured glyph advances, tables
//! broken across pages with their header repeated), then the pages are
//! drawn.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use krilla::Document;
use sha2::{Digest, Sha256};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;

use crate::graph::{cut_note, layout, Layout, BOX_H, BOX_W};
use crate::report::Report;
use crate::terms::{crime, phrase, prefecture, term};
use crate::Error;

const PAGE: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 40.0;
const BODY: f32 = 8.0;
const SMALL: f32 = 6.5;

/// Fonts tried in order when `TRACER_PDF_FONT` is not set (Debian paths).
const FONTS: [(&str, u32); 3] = [
    ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", 0),
];

/// A Japanese-capable font: its file and face index.
#[derive(Debug, Clone)]
pub struct FontFile {
    /// The file.
    pub path: PathBuf,
    /// Face index in a collection (`.ttc`).
    pub index: u32,
}

impl FontFile {
    /// `TRACER_PDF_FONT` (`PATH` or `PATH:INDEX`), else the first installed
    /// of IPAex Gothic and Noto Sans CJK JP.
    pub fn find() -> Result<FontFile, Error> {
        if let Ok(v) = std::env::var("TRACER_PDF_FONT") {
            let (path, index) = match v.rsplit_once(':') {
                Some((p, i)) if i.parse::<u32>().is_ok() => (p.to_string(), i.parse().unwrap_or(0)),
                _ => (v.clone(), 0),
            };
            return Ok(FontFile {
                path: PathBuf::from(path),
                index,
            });
        }
        FONTS
            .iter()
            .find(|(p, _)| Path::new(p).exists())
            .map(|(p, i)| FontFile {
                path: PathBuf::from(p),
                index: *i,
            })
            .ok_or_else(|| {
                Error::Input(
                    "no Japanese font for the PDF: install fonts-ipaexfont-gothic (tests/setup.sh does) \
                     or set TRACER_PDF_FONT=PATH[:INDEX]"
                        .into(),
                )
            })
    }
}

/// One drawing operation on a page (coordinates in points, y down).
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        text: String,
    },
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Option<(u8, u8, u8)>,
    },
    Line {
        from: (f32, f32),
        to: (f32, f32),
    },
    Arrowhead {
        at: (f32, f32),
        from: (f32, f32),
    },
}

impl Op {
    /// The same operation `dy` points lower.
    fn lowered(self, dy: f32) -> Op {
        let down = |(x, y): (f32, f32)| (x, y + dy);
        match self {
            Op::Text { x, y, size, text } => Op::Text {
                x,
                y: y + dy,
                size,
                text,
            },
            Op::Rect { x, y, w, h, fill } => Op::Rect {
                x,
                y: y + dy,
                w,
                h,
                fill,
            },
            Op::Line { from, to } => Op::Line {
                from: down(from),
                to: down(to),
            },
            Op::Arrowhead { at, from } => Op::Arrowhead {
                at: down(at),
                from: down(from),
            },
        }
    }
}

/// The report font, read for layout and drawing: character advances from
/// its metrics (skrifa) to measure and wrap text, and glyphs shaped by
/// harfrust (HarfBuzz's Rust port) to draw it.
struct Measure<'a> {
    font: skrifa::FontRef<'a>,
    charmap: skrifa::charmap::Charmap<'a>,
    metrics: skrifa::metrics::GlyphMetrics<'a>,
    shaping: harfrust::ShaperData,
    upem: f32,
}

impl<'a> Measure<'a> {
    /// Face `index` of the font file `bytes`, if it is a usable font.
    fn new(bytes: &'a [u8], index: u32) -> Option<Self> {
        let font = skrifa::FontRef::from_index(bytes, index).ok()?;
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        let upem = f32::from(
            font.metrics(Size::unscaled(), LocationRef::default())
                .units_per_em,
        );
        Some(Measure {
            charmap: font.charmap(),
            metrics,
            shaping: harfrust::ShaperData::new(&font),
            upem,
            font,
        })
    }

    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars()
            .map(|c| {
                self.charmap
                    .map(c)
                    .and_then(|g| self.metrics.advance_width(g))
                    .unwrap_or(0.0)
            })
            .sum::<f32>()
            * size
            / self.upem
    }

    /// `text` shaped into glyphs, left to right, each with the part of the
    /// text it shows (so the PDF's text can be extracted and searched).
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        let shaper = self.shaping.shaper(&self.font).build();
        let mut buffer = harfrust::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.guess_segment_properties();
        buffer.set_direction(harfrust::Direction::LeftToRight);
        let shaped = shaper.shape(buffer, harfrust::ShapeOptions::new());
        let infos = shaped.glyph_infos();
        infos
            .iter()
            .zip(shaped.glyph_positions())
            .enumerate()
            .map(|(i, (info, pos))| {
                // A cluster runs to the next glyph of another cluster.
                let start = info.cluster as usize;
                let end = infos[i..]
                    .iter()
                    .map(|g| g.cluster as usize)
                    .find(|&c| c != start)
                    .unwrap_or(text.len());
                let unit = |v: i32| v as f32 / self.upem;
                KrillaGlyph::new(
                    GlyphId::new(info.glyph_id),
                    unit(pos.x_advance),
                    unit(pos.x_offset),
                    unit(pos.y_offset),
                    unit(pos.y_advance),
                    start..end,
                    None,
                )
            })
            .collect()
    }

    /// `s` broken into lines no wider than `max`: at spaces where possible,
    /// else between any two characters (Japanese, long hashes).
    fn wrap(&self, s: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        for para in s.split('\n') {
            let mut line = String::new();
            for word in para.split_inclusive(' ') {
                let candidate = format!("{line}{word}");
                if self.width(candidate.trim_end(), size) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(line.trim_end().to_string());
                    line.clear();
                }
                for c in word.chars() {
                    let mut next = line.clone();
                    next.push(c);
                    if self.width(next.trim_end(), size) > max && !line.is_empty() {
                        lines.push(line.trim_end().to_string());
                        line = c.to_string();
                    } else {
                        line = next;
                    }
                }
            }
            lines.push(line.trim_end().to_string());
        }
        lines
    }
}

/// Pages being laid out.
pub struct Flow<'a> {
    m: Measure<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
    /// Headings with nothing under them yet: where they start on the page
    /// (operation index, y). They move with what follows to a new page.
    headings: Option<(usize, f32)>,
}

impl<'a> Flow<'a> {
    /// An empty document set in the font `m`, at the top of its first page.
    fn new(m: Measure<'a>) -> Self {
        Flow {
            m,
            pages: vec![Vec::new()],
            y: MARGIN,
            headings: None,
        }
    }

    /// The text width of a page.
    pub fn width() -> f32 {
        PAGE.0 - 2.0 * MARGIN
    }

    fn page(&mut self) -> &mut Vec<Op> {
        self.pages.last_mut().expect("a page")
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    /// Room for `h` more points on this page, or a new page (which the
    /// headings just above start).
    fn need(&mut self, h: f32) {
        if self.y + h <= PAGE.1 - MARGIN {
            return;
        }
        let carried = self.headings.map(|(i, y0)| (self.page().split_off(i), y0));
        let bottom = self.y;
        self.new_page();
        if let Some((ops, y0)) = carried {
            let dy = self.y - y0;
            for op in ops {
                let op = op.lowered(dy);
                self.page().push(op);
            }
            self.headings = Some((0, self.y));
            self.y += bottom - y0;
        }
    }

    /// Something other than a heading was placed: the headings above it stay.
    fn placed(&mut self) {
        self.headings = None;
    }

    fn text(&mut self, x: f32, size: f32, s: &str) {
        let y = self.y + size;
        self.page().push(Op::Text {
            x,
            y,
            size,
            text: s.to_string(),
        });
    }

    /// A section heading with a rule under it.
    pub fn heading(&mut self, s: &str, size: f32) {
        self.need(size * 3.0);
        if self.headings.is_none() {
            self.headings = Some((self.page().len(), self.y));
        }
        self.y += size * 0.8;
        self.text(MARGIN, size, s);
        self.y += size * 1.5;
        let y = self.y - size * 0.3;
        self.page().push(Op::Line {
            from: (MARGIN, y),
            to: (PAGE.0 - MARGIN, y),
        });
    }

    /// A paragraph, wrapped to the text width.
    pub fn para(&mut self, s: &str, size: f32) {
        for line in self.m.wrap(s, size, Self::width()) {
            self.need(size * 1.4);
            self.text(MARGIN, size, &line);
            self.y += size * 1.4;
            self.placed();
        }
    }

    /// A table: column widths as proportions of the text width; the header
    /// repeats on every page the table runs onto.
    pub fn table(&mut self, header: &[String], widths: &[f32], rows: &[Vec<String>], size: f32) {
        let total: f32 = widths.iter().sum();
        let cols: Vec<f32> = widths.iter().map(|w| w / total * Self::width()).collect();
        let pad = 2.0;
        let line_h = size * 1.3;
        let layout_row = |m: &Measure<'_>, cells: &[String]| -> (Vec<Vec<String>>, f32) {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .zip(&cols)
                .map(|(c, w)| m.wrap(c, size, w - 2.0 * pad))
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            (wrapped, lines as f32 * line_h + 2.0 * pad)
        };
        let (head, head_h) = layout_row(&self.m, header);
        let draw_row = |f: &mut Flow<'_>, cells: &[Vec<String>], h: f32, shade: bool| {
            let mut x = MARGIN;
            for (lines, w) in cells.iter().zip(&cols) {
                let y0 = f.y;
                f.page().push(Op::Rect {
                    x,
                    y: y0,
                    w: *w,
                    h,
                    fill: shade.then_some((0xee, 0xee, 0xee)),
                });
                for (i, l) in lines.iter().enumerate() {
                    f.page().push(Op::Text {
                        x: x + pad,
                        y: y0 + pad + size + i as f32 * line_h,
                        size,
                        text: l.clone(),
                    });
                }
                x += w;
            }
            f.y += h;
        };
        // The header starts a page only together with the first row.
        let first_h = rows.first().map_or(0.0, |r| layout_row(&self.m, r).1);
        self.need(head_h + first_h.min(PAGE.1 - 2.0 * MARGIN - head_h));
        draw_row(self, &head, head_h, true);
        self.placed();
        for r in rows {
            let (cells, h) = layout_row(&self.m, r);
            if self.y + h > PAGE.1 - MARGIN {
                self.new_page();
                draw_row(self, &head, head_h, true);
            }
            draw_row(self, &cells, h, false);
        }
        self.y += size;
    }

    /// A laid-out graph, scaled down to fit the text width and a page.
    pub fn graph(&mut self, g: &Layout) {
        let page = PAGE.1 - 2.0 * MARGIN;
        let scale = (Self::width() / g.width).min(page / g.height).min(1.0);
        let h = g.height * scale;
        self.need(h);
        self.placed();
        let (ox, oy) = (MARGIN, self.y);
        let p = |x: f32, y: f32| (ox + x * scale, oy + y * scale);
        for a in &g.arrows {
            let (from, to) = (p(a.from.0, a.from.1), p(a.to.0, a.to.1));
            self.page().push(Op::Line { from, to });
            if a.head {
                self.page().push(Op::Arrowhead { at: to, from });
            }
            if !a.label.is_empty() {
                self.page().push(Op::Text {
                    x: (from.0 + to.0) / 2.0 - 20.0 * scale,
                    y: (from.1 + to.1) / 2.0 - 2.0,
                    size: (9.0 * scale).max(4.0),
                    text: a.label.clone(),
                });
            }
        }
        for n in &g.nodes {
            let (x, y) = p(n.x, n.y);
            self.page().push(Op::Rect {
                x,
                y,
                w: BOX_W * scale,
                h: BOX_H * scale,
                fill: Some(n.fill),
            });
            let size = (10.0 * scale).max(4.0);
            for (i, line) in [&n.title, &n.note].into_iter().enumerate() {
                self.page().push(Op::Text {
                    x: x + 4.0 * scale,
                    y: y + (14.0 + 16.0 * i as f32) * scale,
                    size,
                    text: line.clone(),
                });
            }
        }
        self.y += h + BODY;
    }
}

fn pct(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

fn case_text(r: &Report, key: &str) -> String {
    match &r.case[key] {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        v => v.to_string(),
    }
}

/// Lays out every section of the report.
fn lay_out(flow: &mut Flow<'_>, r: &Report, font_note: &str) {
    let l = r.lang;
    let t = |k: &str| l.t(k).to_string();
    flow.heading(&format!("{} — {}", r.title, case_text(r, "id")), 14.0);
    let case_rows: Vec<Vec<String>> = [
        ("case_id", case_text(r, "id")),
        ("case_title", case_text(r, "title")),
        ("prefecture", prefecture(&case_text(r, "prefecture"), l)),
        ("crime", crime(&case_text(r, "crime"), l)),
        ("reported", case_text(r, "reported")),
        ("investigator", case_text(r, "investigator")),
    ]
    .into_iter()
    .map(|(k, v)| vec![t(k), v])
    .collect();
    flow.table(&[t("case"), String::new()], &[1.0, 3.0], &case_rows, BODY);

    flow.heading(&t("endpoints"), 11.0);
    if r.endpoints.is_empty() {
        flow.para(&t("no_endpoints"), BODY);
    } else {
        let rows: Vec<Vec<String>> = r
            .endpoints
            .iter()
            .map(|e| {
                vec![
                    format!("{} ({})", e.service, term(&e.class, l)),
                    e.deposit_address.clone(),
                    e.amount_text.clone(),
                    pct(e.share),
                    e.jpy.map(|y| format!("¥{y}")).unwrap_or_default(),
                    format!("{}\n{}", e.first_time_utc, e.first_time_jst),
                    e.evidence_text(l),
                    format!("{}%", e.confidence),
                ]
            })
            .collect();
        let head: Vec<String> = [
            "service",
            "deposit_address",
            "amount",
            "share",
            "jpy",
            "first_seen",
            "evidence",
            "confidence",
        ]
        .iter()
        .map(|k| t(k))
        .collect();
        flow.table(
            &head,
            &[1.2, 2.2, 1.4, 0.7, 0.8, 1.5, 2.4, 0.6],
            &rows,
            SMALL,
        );
    }

    flow.heading(&t("graph"), 11.0);
    flow.graph(&layout(r));
    if let Some(note) = cut_note(l, r.hops.len()) {
        flow.para(&note, SMALL);
    }

    flow.heading(&t("summary"), 11.0);
    let rows: Vec<Vec<String>> = r
        .summary
        .iter()
        .map(|s| vec![s.label.clone(), s.amount_text.clone(), pct(s.share)])
        .collect();
    flow.table(
        &[t("summary"), t("amount"), t("share")],
        &[2.0, 2.0, 1.0],
        &rows,
        BODY,
    );

    flow.heading(&t("seeds"), 11.0);
    let rows: Vec<Vec<String>> = r
        .seeds
        .iter()
        .map(|s| {
            vec![
                format!("{}:{}", s.txid, s.vout),
                s.address.clone().unwrap_or_default(),
                s.amount_text.clone(),
                format!("{} / {}", s.time_utc, s.time_jst),
            ]
        })
        .collect();
    flow.table(
        &[t("txid"), t("to"), t("amount"), t("time_utc")],
        &[3.0, 2.0, 1.2, 1.8],
        &rows,
        SMALL,
    );

    flow.heading(&t("hops"), 11.0);
    let rows: Vec<Vec<String>> = r
        .hops
        .iter()
        .map(|h| {
            vec![
                format!("{}:{}", h.txid, h.vout),
                format!("{}\n{}\n{}", h.height, h.time_utc, h.time_jst),
                h.from.clone(),
                h.to.clone(),
                h.amount_text.clone(),
                h.hop.to_string(),
                format!(
                    "{}{}",
                    term(&h.rule, l),
                    h.heuristics
                        .as_ref()
                        .map(|x| format!(" ({})", phrase(x, l)))
                        .unwrap_or_default()
                ),
                format!("{}%", h.confidence),
            ]
        })
        .collect();
    let head: Vec<String> = [
        "txid",
        "time_utc",
        "from",
        "to",
        "amount",
        "hop",
        "rule",
        "confidence",
    ]
    .iter()
    .map(|k| t(k))
    .collect();
    flow.table(
        &head,
        &[2.6, 1.5, 1.9, 1.9, 1.3, 0.4, 1.0, 0.6],
        &rows,
        SMALL,
    );

    flow.heading(&t("methodology"), 11.0);
    let m = &r.methodology;
    let rows = vec![
        vec![t("model"), phrase(&m.model, l)],
        vec![t("granularity"), phrase(&m.granularity, l)],
        vec![t("coinjoin_policy"), phrase(&m.coinjoins, l)],
        vec![t("limits"), phrase(&m.limits, l)],
    ];
    flow.table(&[t("methodology"), String::new()], &[1.0, 3.0], &rows, BODY);
    let rows: Vec<Vec<String>> = m
        .heuristics
        .iter()
        .map(|h| {
            vec![
                phrase(&h.name, l),
                term(h.used_for, l).to_string(),
                format!("{}%", h.prior),
                h.measured_precision
                    .map(|p| format!("{:.2}%", p * 100.0))
                    .unwrap_or_else(|| t("not_measured")),
            ]
        })
        .collect();
    flow.table(
        &[t("heuristic"), t("used_for"), t("prior"), t("measured")],
        &[2.0, 1.0, 1.0, 1.5],
        &rows,
        BODY,
    );

    flow.heading(&t("provenance"), 11.0);
    let p = &r.provenance;
    let rows = vec![
        vec![
            t("chain"),
            format!(
                "{} {}",
                term(&p.chain, l),
                p.network.as_deref().map_or("", |n| term(n, l))
            ),
        ],
        vec![
            t("tip"),
            format!(
                "{} {}",
                p.tip_height.map(|h| h.to_string()).unwrap_or_default(),
                p.tip_hash.clone().unwrap_or_default()
            ),
        ],
        vec![
            t("block_range"),
            p.block_range
                .map(|(a, b)| format!("{a} – {b}"))
                .unwrap_or_default(),
        ],
        vec![
            t("clusters"),
            p.clusters.clone().unwrap_or_else(|| t("none")),
        ],
        vec![t("source"), p.data_source.clone().unwrap_or_default()],
        vec![t("tool"), p.tool.clone()],
        vec![t("fingerprint"), p.fingerprint.clone().unwrap_or_default()],
        vec![t("prices"), p.prices.clone().unwrap_or_else(|| t("none"))],
        vec![t("pdf_font"), font_note.to_string()],
    ];
    flow.table(&[t("provenance"), String::new()], &[1.0, 3.0], &rows, SMALL);
    flow.heading(&t("regenerate"), 11.0);
    flow.para(&t("regenerate_note"), BODY);
    for c in &r.commands {
        flow.para(c, SMALL);
    }
}

/// Renders `r` as a PDF with the Japanese font `font`.
pub fn render(r: &Report, font: &FontFile) -> Result<Vec<u8>, Error> {
    let id = r.case["id"].as_str().unwrap_or("tracer").to_string();
    let meta = DocMeta {
        title: format!("{} {id}", r.title),
        lang: r.lang.code(),
        id: format!("{id}/{}", r.lang.code()),
    };
    write(font, &meta, |flow, font_note| lay_out(flow, r, font_note))
}

/// What a PDF says about itself (no dates: the same bytes every run).
pub struct DocMeta {
    /// Title.
    pub title: String,
    /// Language code.
    pub lang: &'static str,
    /// Document id (the PDF /ID is derived from it).
    pub id: String,
}

/// Lays out pages with `lay` (given the font's provenance note) and draws
/// them in `font`.
pub fn write(
    font: &FontFile,
    meta: &DocMeta,
    lay: impl FnOnce(&mut Flow<'_>, &str),
) -> Result<Vec<u8>, Error> {
    let bytes = std::fs::read(&font.path)
        .map_err(|e| Error::Input(format!("{}: {e}", font.path.display())))?;
    let name = font
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let font_note = format!("{name}#{} sha256:{:x}", font.index, Sha256::digest(&bytes));
    let bytes = Arc::new(bytes);
    let unusable = || Error::Input(format!("{}: not a usable font", font.path.display()));
    let measure = Measure::new(&bytes, font.index).ok_or_else(unusable)?;
    let kfont = Font::new(Arc::clone(&bytes).into(), font.index).ok_or_else(unusable)?;
    let mut flow = Flow::new(measure);
    lay(&mut flow, &font_note);
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(meta.title.clone())
            .creator("tracer".into())
            .producer("tracer".into())
            .language(meta.lang.into())
            .document_id(meta.id.clone()),
    );
    let total = flow.pages.len();
    for (i, ops) in flow.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE.0, PAGE.1).expect("A4 is a valid size");
        let mut page = doc.start_page_with(settings);
        let mut s = page.surface();
        let black = || Fill {
            paint: rgb::Color::new(0, 0, 0).into(),
            ..Default::default()
        };
        let stroke = || Stroke {
            paint: rgb::Color::new(0x77, 0x77, 0x77).into(),
            width: 0.5,
            ..Default::default()
        };
        for op in ops.iter().chain(std::iter::once(&Op::Text {
            x: PAGE.0 / 2.0 - 10.0,
            y: PAGE.1 - MARGIN / 2.0,
            size: SMALL,
            text: format!("{} / {total}", i + 1),
        })) {
            match op {
                Op::Text { x, y, size, text } => {
                    s.set_stroke(None);
                    s.set_fill(Some(black()));
                    s.draw_glyphs(
                        Point::from_xy(*x, *y),
                        &flow.m.glyphs(text),
                        kfont.clone(),
                        text,
                        *size,
                        false,
                    );
                }
                Op::Rect { x, y, w, h, fill } => {
                    let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                        continue;
                    };
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    let Some(path) = pb.finish() else { continue };
                    s.set_fill(fill.map(|(r, g, b)| Fill {
                        paint: rgb::Color::new(r, g, b).into(),
                        ..Default::default()
                    }));
                    s.set_stroke(Some(stroke()));
                    s.draw_path(&path);
                }
                Op::Line { from, to } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(from.0, from.1);
                    pb.line_to(to.0, to.1);
                    let Some(path) = pb.finish() else { continue };
                    s.set_fill(None);
                    s.set_stroke(Some(stroke()));
                    s.draw_path(&path);
                }
                Op::Arrowhead { at, from } => {
                    let (dx, dy) = (at.0 - from.0, at.1 - from.1);
                    let len = (dx * dx + dy * dy).sqrt().max(0.001);
                    let (ux, uy) = (dx / len, dy / len);
                    let size = 4.0;
                    let mut pb = PathBuilder::new();
                    pb.move_to(at.0, at.1);
                    pb.line_to(
                        at.0 - ux * size - uy * size / 2.0,
                        at.1 - uy * size + ux * size / 2.0,
                    );
                    pb.line_to(
                        at.0 - ux * size + uy * size / 2.0,
                        at.1 - uy * size - ux * size / 2.0,
                    );
                    pb.close();
                    let Some(path) = pb.finish() else { continue };
                    s.set_stroke(None);
                    s.set_fill(Some(Fill {
                        paint: rgb::Color::new(0x55, 0x55, 0x55).into(),
                        ..Default::default()
                    }));
                    s.draw_path(&path);
                }
            }
        }
        s.finish();
        page.finish();
    }
    doc.finish()
        .map_err(|e| Error::Input(format!("writing the PDF failed: {e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(ops: &[Op]) -> Vec<&str> {
        ops.iter()
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Lays out `lay` from `y` on the first page, in the report font.
    fn laid_out(y: f32, lay: impl FnOnce(&mut Flow<'_>)) -> Vec<Vec<String>> {
        let font = FontFile::find().expect("a report font (tests/setup.sh installs one)");
        let bytes = std::fs::read(&font.path).unwrap();
        let mut flow = Flow::new(Measure::new(&bytes, font.index).unwrap());
        flow.y = y;
        lay(&mut flow);
        flow.pages
            .iter()
            .map(|p| texts(p).into_iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn headings_move_to_the_next_page_with_what_follows_them() {
        let tall = vec![vec!["line\n".repeat(12)]];
        let pages = laid_out(PAGE.1 - MARGIN - 70.0, |f| {
            f.para("before", 8.0);
            f.heading("Section", 11.0);
            f.heading("Part", 9.0);
            f.table(&["Head".to_string()], &[1.0], &tall, 8.0);
        });
        assert_eq!(pages.len(), 2);
        assert_eq!(pages[0], ["before"]);
        assert_eq!(pages[1][..3], ["Section", "Part", "Head"]);
        // What fits stays under its heading.
        let pages = laid_out(MARGIN, |f| {
            f.heading("Section", 11.0);
            f.para("after", 8.0);
        });
        assert_eq!(pages, [["Section", "after"]]);
    }
}
