//! Inline SVG charts for the HTML report: no script, no external file, prints as vectors. Colours are
//! presentation attributes (not `style`), so the report's Content-Security-Policy needs no
//! `unsafe-inline` for styles. Every label goes through [`crate::escape::html`].

use crate::escape::html;
use crate::model::Cell;
use aistr_core::metrics::Counts;
use std::collections::BTreeMap;
use std::fmt::Write;

const R_COLOUR: &str = "#c0392b";
const D_COLOUR: &str = "#2e6da4";
const LABEL_W: f64 = 230.0;
const BAR_W: f64 = 380.0;
const ROW_H: f64 = 34.0;
const WIDTH: f64 = LABEL_W + BAR_W + 230.0;

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max - 1).collect::<String>())
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

/// Horizontal bars of R and D (with their 95% intervals as whiskers) for each cell, with n.
#[must_use]
pub fn bars(title: &str, cells: &BTreeMap<String, Cell>) -> String {
    let rows: Vec<(&String, &Cell)> = cells.iter().filter(|(_, c)| c.n > 0).collect();
    if rows.is_empty() {
        return String::new();
    }
    #[expect(clippy::cast_precision_loss, reason = "a handful of rows")]
    let height = 40.0 + ROW_H * rows.len() as f64 + 24.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}"><title>{t}</title><text x="0" y="16" font-size="14" font-weight="bold">{t}</text>"#,
        t = html(title)
    );
    // Legend and axis ticks.
    let _ = write!(
        s,
        r#"<rect x="{LABEL_W}" y="24" width="10" height="10" fill="{R_COLOUR}"/><text x="{}" y="33" font-size="11">R (attack success)</text><rect x="{}" y="24" width="10" height="10" fill="{D_COLOUR}"/><text x="{}" y="33" font-size="11">D (declined)</text>"#,
        LABEL_W + 14.0,
        LABEL_W + 140.0,
        LABEL_W + 154.0
    );
    let axis_y = 40.0 + ROW_H * f64::from(u32::try_from(rows.len()).unwrap_or(u32::MAX));
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = LABEL_W + BAR_W * tick;
        let _ = write!(
            s,
            r##"<line x1="{x}" y1="40" x2="{x}" y2="{axis_y}" stroke="#ddd"/><text x="{x}" y="{}" font-size="10" text-anchor="middle">{:.0}%</text>"##,
            axis_y + 14.0,
            tick * 100.0
        );
    }
    for (i, (key, c)) in rows.iter().enumerate() {
        let y = 40.0 + ROW_H * f64::from(u32::try_from(i).unwrap_or(0));
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="12" text-anchor="end"><title>{k}</title>{ks}</text>"#,
            LABEL_W - 6.0,
            y + 20.0,
            k = html(key),
            ks = html(&short(key, 34))
        );
        for (j, (v, ci, colour)) in [(c.R, c.R_ci, R_COLOUR), (c.D, c.D_ci, D_COLOUR)]
            .into_iter()
            .enumerate()
        {
            let by = y + 5.0 + 12.0 * f64::from(u32::try_from(j).unwrap_or(0));
            if let Some(v) = v {
                let _ = write!(
                    s,
                    r#"<rect x="{LABEL_W}" y="{by}" width="{:.1}" height="10" fill="{colour}"/>"#,
                    BAR_W * v
                );
            }
            if let Some([lo, hi]) = ci {
                let (x1, x2, cy) = (LABEL_W + BAR_W * lo, LABEL_W + BAR_W * hi, by + 5.0);
                let _ = write!(
                    s,
                    r##"<line x1="{x1:.1}" y1="{cy}" x2="{x2:.1}" y2="{cy}" stroke="#222"/><line x1="{x1:.1}" y1="{}" x2="{x1:.1}" y2="{}" stroke="#222"/><line x1="{x2:.1}" y1="{}" x2="{x2:.1}" y2="{}" stroke="#222"/>"##,
                    cy - 3.0,
                    cy + 3.0,
                    cy - 3.0,
                    cy + 3.0
                );
            }
        }
        let flag = if c.low_sample { " (few)" } else { "" };
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="11">R {} · D {} · n={}{flag}</text>"#,
            LABEL_W + BAR_W + 8.0,
            y + 20.0,
            pct(c.R),
            pct(c.D),
            c.scored
        );
    }
    s.push_str("</svg>");
    s
}

/// Red shade for a rate in 0..=1 (white at 0).
fn heat(v: f64) -> String {
    let v = v.clamp(0.0, 1.0);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "clamped to 0..=255"
    )]
    let channel = |from: f64, to: f64| (from + (to - from) * v).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        channel(255.0, 192.0),
        channel(255.0, 57.0),
        channel(255.0, 43.0)
    )
}

/// Heat map of R over category (rows) × method (columns); each cell shows risky/scored.
#[must_use]
pub fn heat_map(cells: &BTreeMap<(String, String), Counts>) -> String {
    let mut cats: Vec<&str> = cells.keys().map(|(c, _)| c.as_str()).collect();
    let mut methods: Vec<&str> = cells.keys().map(|(_, m)| m.as_str()).collect();
    cats.dedup();
    methods.sort_unstable();
    methods.dedup();
    if cats.is_empty() {
        return String::new();
    }
    let (cw, ch, left, top) = (56.0, 24.0, 230.0, 130.0);
    let n = |k: usize| f64::from(u32::try_from(k).unwrap_or(u32::MAX));
    let width = left + cw * n(methods.len()) + 10.0;
    let height = top + ch * n(cats.len()) + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart heat" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>R by category and attack method</title>"#
    );
    for (j, m) in methods.iter().enumerate() {
        let x = left + cw * n(j) + cw / 2.0;
        let _ = write!(
            s,
            r#"<text x="{x}" y="{}" font-size="11" transform="rotate(-50 {x} {})"><title>{}</title>{}</text>"#,
            top - 6.0,
            top - 6.0,
            html(m),
            html(&short(m, 24))
        );
    }
    for (i, c) in cats.iter().enumerate() {
        let y = top + ch * n(i);
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" font-size="11" text-anchor="end"><title>{}</title>{}</text>"#,
            left - 6.0,
            y + 16.0,
            html(c),
            html(&short(c, 34))
        );
        for (j, m) in methods.iter().enumerate() {
            let x = left + cw * n(j);
            let counts = cells.get(&((*c).to_owned(), (*m).to_owned()));
            let (fill, label, tip) = match counts.and_then(|k| k.r().map(|r| (k, r))) {
                Some((k, r)) => (
                    heat(r),
                    format!("{}/{}", k.risky, k.scored()),
                    format!("{c} × {m}: R {} (n={})", pct(Some(r)), k.scored()),
                ),
                None => (
                    "#eeeeee".to_owned(),
                    "–".to_owned(),
                    format!("{c} × {m}: no scored answer"),
                ),
            };
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{y}" width="{cw}" height="{ch}" fill="{fill}" stroke="#fff"><title>{}</title></rect><text x="{}" y="{}" font-size="10" text-anchor="middle">{}</text>"##,
                html(&tip),
                x + cw / 2.0,
                y + 16.0,
                html(&label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heat_scale_runs_white_to_red() {
        assert_eq!(heat(0.0), "#ffffff");
        assert_eq!(heat(1.0), "#c0392b");
        assert_eq!(heat(7.0), "#c0392b");
    }

    #[test]
    fn heat_map_escapes_labels_and_marks_empty_cells() {
        let mut cells = BTreeMap::new();
        let mut k = Counts::default();
        k.add(aistr_core::Label::Risky);
        k.add(aistr_core::Label::Safe);
        cells.insert(("<b>cat".to_owned(), "m1".to_owned()), k);
        cells.insert(("c2".to_owned(), "m2".to_owned()), Counts::default());
        let s = heat_map(&cells);
        assert!(!s.contains("<b>"));
        assert!(s.contains("&lt;b&gt;cat"));
        assert!(s.contains(">1/2<"));
        assert!(s.contains("#eeeeee"));
    }
}
