//! SVG plots of a growth run (and, dashed beside it, an older run's curves
//! marked "(before)"). Plotters' SVG backend writes text as `<text>`
//! elements: no font files are read.

use std::error::Error;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::results::{CacheRun, Growth, Segment};

/// A drawing area of an SVG file.
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// One line of a chart.
struct Curve {
    /// Legend text.
    label: String,
    /// (x, y) points, in x order.
    points: Vec<(f64, f64)>,
    /// Line and point colour.
    color: RGBAColor,
    /// Drawn dashed: the older run's.
    before: bool,
}

/// One chart of a file.
struct Panel {
    /// Caption.
    title: String,
    /// X axis description.
    x: &'static str,
    /// Y axis description.
    y: &'static str,
    /// X tick label text.
    x_label: Box<dyn Fn(&f64) -> String>,
    /// The lines.
    curves: Vec<Curve>,
}

/// Writes every plot of `now` (with `before`'s curves dashed) into `dir`;
/// returns the files written.
pub fn write_all(
    dir: &Path,
    now: &Growth,
    before: Option<&Growth>,
) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let runs = Runs::new(now, before);
    let files = [
        (
            "ingest-throughput.svg",
            vec![runs.segment_panel("Ingest throughput", "tx/s", |s| s.tx_per_s)],
        ),
        (
            "ingest-rss.svg",
            vec![runs.segment_panel("Ingest peak RSS", "MiB", |s| s.peak_rss_mib)],
        ),
        (
            "ledger-size.svg",
            vec![runs.segment_panel("Ledger size on disk", "MB", |s| s.ledger_bytes as f64 / 1e6)],
        ),
        (
            "cluster-build.svg",
            vec![
                runs.cluster_panel("cluster build time", "seconds", |c| c.secs),
                runs.cluster_panel("cluster build peak RSS", "MiB", |c| c.peak_rss_mib),
            ],
        ),
    ];
    let mut written = Vec::new();
    for (name, panels) in files {
        let path = dir.join(name);
        draw(&path, &panels)?;
        written.push(path);
    }
    Ok(written)
}

/// A `cluster build` measured on one chain (several chains, before and
/// after a design change, make the scaling plot).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ScalingPoint {
    /// The design measured, as the legend names it.
    pub design: String,
    /// Drawn dashed: the older design.
    #[serde(default)]
    pub before: bool,
    /// `--level`.
    pub level: String,
    /// `--cache-mb`.
    pub cache_mb: u64,
    /// Transactions of the chain.
    pub txs: u64,
    /// Peak RSS, MiB.
    pub peak_rss_mib: f64,
}

/// Writes `cluster-scaling.svg` into `dir`: `cluster build` peak RSS against
/// the chain's transactions, one line per design, level and `--cache-mb`.
pub fn write_scaling(dir: &Path, points: &[ScalingPoint]) -> Result<PathBuf, Box<dyn Error>> {
    let mut keys: Vec<(&str, bool, &str, u64)> = points
        .iter()
        .map(|p| (p.design.as_str(), p.before, p.level.as_str(), p.cache_mb))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let curves = keys
        .iter()
        .enumerate()
        .map(|(i, &(design, before, level, cache))| {
            let mut pts: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| {
                    (p.design.as_str(), p.before, p.level.as_str(), p.cache_mb)
                        == (design, before, level, cache)
                })
                .map(|p| (p.txs as f64 / 1e6, p.peak_rss_mib))
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            Curve {
                label: format!("{design}: {level}, --cache-mb {cache}"),
                points: pts,
                color: color(Some(i)),
                before,
            }
        })
        .collect();
    let panel = Panel {
        title: "cluster build peak RSS as the chain grows".into(),
        x: "transactions in the chain (millions)",
        y: "MiB",
        x_label: Box::new(|x| format!("{x:.0}")),
        curves,
    };
    let path = dir.join("cluster-scaling.svg");
    draw(&path, &[panel])?;
    Ok(path)
}

/// The runs of both files, with the `--cache-mb` settings and cluster
/// levels that occur in either (for matching colours and positions).
struct Runs<'a> {
    /// (run, is it the older file's?).
    runs: Vec<(&'a CacheRun, bool)>,
    /// Every `--cache-mb` setting, ascending.
    caches: Vec<u64>,
    /// Every cluster level, in first-seen order.
    levels: Vec<String>,
}

impl<'a> Runs<'a> {
    /// The runs of `now`, then those of `before`.
    fn new(now: &'a Growth, before: Option<&'a Growth>) -> Self {
        let mut runs: Vec<(&CacheRun, bool)> = now.runs.iter().map(|r| (r, false)).collect();
        if let Some(b) = before {
            runs.extend(b.runs.iter().map(|r| (r, true)));
        }
        let mut caches: Vec<u64> = runs.iter().map(|(r, _)| r.cache_mb).collect();
        caches.sort_unstable();
        caches.dedup();
        let mut levels: Vec<String> = Vec::new();
        for c in runs.iter().flat_map(|(r, _)| &r.cluster) {
            if !levels.contains(&c.level) {
                levels.push(c.level.clone());
            }
        }
        Runs {
            runs,
            caches,
            levels,
        }
    }

    /// A chart of `y` per segment against millions of transactions, one
    /// line per run.
    fn segment_panel(&self, title: &str, y_desc: &'static str, y: fn(&Segment) -> f64) -> Panel {
        let curves = self
            .runs
            .iter()
            .map(|&(r, before)| Curve {
                label: label(&format!("--cache-mb {}", r.cache_mb), before),
                points: r
                    .segments
                    .iter()
                    .map(|s| (s.txs as f64 / 1e6, y(s)))
                    .collect(),
                color: color(self.caches.iter().position(|&c| c == r.cache_mb)),
                before,
            })
            .collect();
        Panel {
            title: title.into(),
            x: "transactions ingested (millions)",
            y: y_desc,
            x_label: Box::new(|x| format!("{x:.2}")),
            curves,
        }
    }

    /// A chart of `y` per cluster level against the `--cache-mb` settings
    /// (evenly spaced), one line per level and file.
    fn cluster_panel(
        &self,
        title: &str,
        y_desc: &'static str,
        y: fn(&crate::results::ClusterBuild) -> f64,
    ) -> Panel {
        let mut curves = Vec::new();
        for (i, level) in self.levels.iter().enumerate() {
            for before in [false, true] {
                let points: Vec<(f64, f64)> = self
                    .runs
                    .iter()
                    .filter(|(_, b)| *b == before)
                    .filter_map(|(r, _)| {
                        let c = r.cluster.iter().find(|c| &c.level == level)?;
                        let x = self.caches.iter().position(|&m| m == r.cache_mb)?;
                        Some((x as f64, y(c)))
                    })
                    .collect();
                if !points.is_empty() {
                    curves.push(Curve {
                        label: label(level, before),
                        points,
                        color: color(Some(i)),
                        before,
                    });
                }
            }
        }
        let caches = self.caches.clone();
        Panel {
            title: title.into(),
            x: "--cache-mb",
            y: y_desc,
            x_label: Box::new(move |x| {
                let i = x.round();
                match caches.get(i as usize) {
                    Some(c) if (x - i).abs() < 1e-6 && i >= 0.0 => c.to_string(),
                    _ => String::new(),
                }
            }),
            curves,
        }
    }
}

/// A legend entry, marked "(before)" for the older run.
fn label(what: &str, before: bool) -> String {
    if before {
        format!("{what} (before)")
    } else {
        what.to_string()
    }
}

/// The `i`-th colour of a fixed palette.
fn color(i: Option<usize>) -> RGBAColor {
    Palette99::pick(i.unwrap_or(0)).to_rgba()
}

/// Writes `panels` side by side into the SVG file `path`.
fn draw(path: &Path, panels: &[Panel]) -> Result<(), Box<dyn Error>> {
    let width = 900 * panels.len().max(1) as u32;
    let root = SVGBackend::new(path, (width, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    for (area, panel) in root
        .split_evenly((1, panels.len().max(1)))
        .iter()
        .zip(panels)
    {
        draw_panel(area, panel)?;
    }
    root.present()?;
    Ok(())
}

/// The axis ranges that hold every point of `curves`: x padded by 5 %
/// (by 0.5 if all points share one x), y from 0 to 30 % above the largest
/// (room for the legend).
fn bounds(curves: &[Curve]) -> ((f64, f64), f64) {
    let pts = || curves.iter().flat_map(|c| c.points.iter());
    let x0 = pts().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let x1 = pts().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let y1 = pts().map(|p| p.1).fold(0.0, f64::max);
    let (x0, x1) = match (x0.is_finite(), x1 - x0) {
        (false, _) => (0.0, 1.0),
        (true, w) if w > 0.0 => (x0 - w * 0.05, x1 + w * 0.05),
        (true, _) => (x0 - 0.5, x1 + 0.5),
    };
    ((x0, x1), if y1 > 0.0 { y1 * 1.3 } else { 1.0 })
}

/// A y tick label: whole numbers from 100 up (and 0), else 1–2 decimals.
fn tick(v: &f64) -> String {
    match v.abs() {
        a if a >= 100.0 || a == 0.0 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        _ => format!("{v:.2}"),
    }
}

/// Draws one chart: axes, lines (dashed for the older run), points, legend.
fn draw_panel(area: &Area<'_>, p: &Panel) -> Result<(), Box<dyn Error>> {
    let ((x0, x1), y1) = bounds(&p.curves);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x0..x1, 0f64..y1)?;
    chart
        .configure_mesh()
        .x_desc(p.x)
        .y_desc(p.y)
        .x_label_formatter(&p.x_label)
        .y_label_formatter(&tick)
        .draw()?;
    for c in &p.curves {
        let style = ShapeStyle {
            color: c.color,
            filled: false,
            stroke_width: 2,
        };
        if c.before {
            chart
                .draw_series(DashedLineSeries::new(c.points.clone(), 8, 5, style))?
                .label(c.label.as_str())
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 24, y)], 5, 3, style)
                });
        } else {
            chart
                .draw_series(LineSeries::new(c.points.clone(), style))?
                .label(c.label.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        chart.draw_series(
            c.points
                .iter()
                .map(|&pt| Circle::new(pt, 3, style.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}
