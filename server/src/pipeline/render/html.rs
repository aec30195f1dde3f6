//! `report.html`: one self-contained page (no network: styles, chart and
//! script are inline) for a person reading a CI run. Overview with the
//! coverage of each round as a small SVG chart, the per-file coverage
//! table (sortable), the generated tests grouped by file with their
//! targets, the remaining gaps with the reasons, the suspected bugs.

use std::fmt::Write;

use super::super::gates::fmt;
use super::super::report::RunReport;
use super::escape_html as e;

const STYLE: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1b1f24;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:16px 24px}
header h1{margin:0;font-size:20px}
main{padding:16px 24px;max-width:1100px}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:12px 16px;margin:0 0 16px}
h2{font-size:16px;margin:4px 0 10px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eaeef2;vertical-align:top}
th{cursor:pointer;user-select:none;background:#f6f8fa}
td.num,th.num{text-align:right}
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:20px}
.bar{background:#eaeef2;height:8px;border-radius:4px;min-width:80px}
.bar span{display:block;height:8px;border-radius:4px;background:#2da44e}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
.muted{color:#57606a}
"#;

/// Sorts a table by the clicked column; marks the page as rendered so a
/// headless browser can tell the script ran.
const SCRIPT: &str = r#"
(function(){
  document.querySelectorAll('table.sortable').forEach(function(t){
    t.querySelectorAll('th').forEach(function(th,i){
      th.addEventListener('click',function(){
        var rows=Array.prototype.slice.call(t.tBodies[0].rows);
        var asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';
        rows.sort(function(a,b){
          var x=a.cells[i].dataset.v||a.cells[i].textContent,y=b.cells[i].dataset.v||b.cells[i].textContent;
          var nx=parseFloat(x),ny=parseFloat(y);
          var c=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);
          return asc?c:-c;
        });
        rows.forEach(function(r){t.tBodies[0].appendChild(r);});
      });
    });
  });
  document.body.setAttribute('data-rendered','1');
})();
"#;

pub fn page(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = write_page(&mut s, r);
    s
}

fn write_page(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(
        s,
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
    )?;
    writeln!(
        s,
        "<title>testgen report</title><style>{STYLE}</style></head><body>"
    )?;
    let verdict = if r.passed {
        "<span class=\"pass\">gates passed</span>"
    } else {
        "<span class=\"fail\">a gate failed</span>"
    };
    writeln!(
        s,
        "<header><h1>testgen report</h1><div>{} · engine {} · {verdict}</div></header><main>",
        e(&r.stop
            .describe(r.gates.first().map_or(90.0, |g| g.threshold))),
        e(&r.engine)
    )?;
    overview(s, r)?;
    per_file(s, r)?;
    generated(s, r)?;
    gaps(s, r)?;
    bugs(s, r)?;
    writeln!(s, "</main><script>{SCRIPT}</script></body></html>")
}

fn overview(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(
        s,
        "<section id=\"overview\"><h2>Overview</h2><div class=\"cards\">"
    )?;
    let card = |s: &mut String, label: &str, value: String| {
        writeln!(
            s,
            "<div class=\"card\"><span class=\"muted\">{label}</span><b>{value}</b></div>"
        )
    };
    card(
        s,
        "Coverage before",
        format!("{:.2}%", r.coverage_before.line_percent),
    )?;
    card(
        s,
        "Coverage after",
        format!("{:.2}%", r.coverage_after.line_percent),
    )?;
    card(s, "Delta", format!("{:+.2}%", r.delta))?;
    card(s, "Tests generated", r.tests_generated().to_string())?;
    card(s, "Tests passed", r.final_tests.passed.to_string())?;
    card(
        s,
        "Tests failed",
        (r.final_tests.failed + r.final_tests.error).to_string(),
    )?;
    writeln!(s, "</div>")?;
    chart(s, r)?;
    writeln!(
        s,
        "<table><thead><tr><th>Check</th><th>Value</th><th>Result</th></tr></thead><tbody>"
    )?;
    for g in &r.gates {
        let (class, word) = if g.passed {
            ("pass", "PASS")
        } else {
            ("fail", "FAIL")
        };
        writeln!(
            s,
            "<tr><td>{}</td><td>{}%</td><td class=\"{class}\">{word}</td></tr>",
            e(&g.label),
            fmt(g.value)
        )?;
    }
    writeln!(s, "</tbody></table></section>")
}

/// Coverage after the baseline and after each round, as bars in an SVG.
fn chart(s: &mut String, r: &RunReport) -> std::fmt::Result {
    let mut points = vec![("baseline".to_string(), r.coverage_before.line_percent)];
    for x in &r.rounds {
        points.push((format!("round {}", x.round), x.coverage_after));
    }
    let (w, h, bar) = (80.0 * points.len() as f64 + 40.0, 160.0, 40.0);
    writeln!(
        s,
        "<svg id=\"chart\" role=\"img\" aria-label=\"coverage per round\" width=\"{w}\" height=\"{}\" viewBox=\"0 0 {w} {}\">",
        h + 40.0,
        h + 40.0
    )?;
    let min = r.gates.first().map_or(90.0, |g| g.threshold);
    let y_min = h - h * min / 100.0 + 10.0;
    writeln!(
        s,
        "<line x1=\"20\" x2=\"{}\" y1=\"{y_min:.1}\" y2=\"{y_min:.1}\" stroke=\"#cf222e\" stroke-dasharray=\"4 3\"><title>minimum {}%</title></line>",
        w - 10.0,
        fmt(min)
    )?;
    for (i, (label, pct)) in points.iter().enumerate() {
        let x = 30.0 + 80.0 * i as f64;
        let bh = h * pct / 100.0;
        writeln!(
            s,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"{bar}\" height=\"{bh:.1}\" fill=\"#2da44e\"><title>{}: {pct:.2}%</title></rect>",
            h - bh + 10.0,
            e(label)
        )?;
        writeln!(
            s,
            "<text x=\"{}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{pct:.1}%</text>",
            x + bar / 2.0,
            h - bh + 6.0
        )?;
        writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            x + bar / 2.0,
            h + 28.0,
            e(label)
        )?;
    }
    writeln!(s, "</svg>")
}

fn per_file(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(s, "<section id=\"files\"><h2>Coverage per file</h2>")?;
    writeln!(s, "<table class=\"sortable\"><thead><tr><th>File</th><th class=\"num\">Statements</th><th class=\"num\">Missing</th><th class=\"num\">Coverage</th><th></th></tr></thead><tbody>")?;
    for f in &r.files {
        writeln!(
            s,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\" data-v=\"{}\">{}%</td><td><div class=\"bar\"><span style=\"width:{:.0}%\"></span></div></td></tr>",
            e(&f.path),
            f.statements,
            f.missing,
            f.percent,
            fmt(f.percent),
            f.percent
        )?;
    }
    writeln!(s, "</tbody></table></section>")
}

fn generated(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(
        s,
        "<section id=\"generated\"><h2>Generated tests ({})</h2>",
        r.tests_generated()
    )?;
    if r.generated.is_empty() {
        writeln!(s, "<p class=\"muted\">None.</p>")?;
    }
    for f in &r.generated {
        writeln!(
            s,
            "<h3><code>{}</code> <span class=\"muted\">({} tests)</span></h3>",
            e(&f.path),
            f.tests.len()
        )?;
        writeln!(
            s,
            "<table><thead><tr><th>Test</th><th>Target</th><th>Engine</th></tr></thead><tbody>"
        )?;
        for t in &f.tests {
            writeln!(
                s,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                e(&t.name),
                e(&t.target),
                e(&t.engine)
            )?;
        }
        writeln!(s, "</tbody></table>")?;
    }
    writeln!(s, "</section>")
}

fn gaps(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(
        s,
        "<section id=\"gaps\"><h2>Remaining gaps ({})</h2>",
        r.remaining_gaps.len()
    )?;
    if r.remaining_gaps.is_empty() {
        writeln!(
            s,
            "<p class=\"muted\">Every function is covered.</p></section>"
        )?;
        return Ok(());
    }
    if let Some(note) = crate::pipeline::report::not_tried_note(&r.remaining_gaps) {
        writeln!(s, "<p class=\"note\">{}.</p>", e(&note))?;
    }
    writeln!(s, "<table class=\"sortable\"><thead><tr><th>Function</th><th class=\"num\">Missing lines</th><th class=\"num\">Coverage</th><th>Why no test covers it</th></tr></thead><tbody>")?;
    for g in &r.remaining_gaps {
        writeln!(
            s,
            "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td class=\"num\" data-v=\"{}\">{}%</td><td>{}</td></tr>",
            e(&g.target),
            g.missing_lines.len(),
            g.coverage,
            fmt(g.coverage),
            e(g.reason.as_deref().unwrap_or("no passing test reached it"))
        )?;
    }
    writeln!(s, "</tbody></table></section>")
}

fn bugs(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(
        s,
        "<section id=\"bugs\"><h2>Suspected bugs ({})</h2>",
        r.suspected_bugs.len()
    )?;
    if r.suspected_bugs.is_empty() {
        writeln!(s, "<p class=\"muted\">None found.</p></section>")?;
        return Ok(());
    }
    writeln!(s, "<table><thead><tr><th>Where</th><th>Call</th><th>Error</th><th>Why</th></tr></thead><tbody>")?;
    for b in &r.suspected_bugs {
        writeln!(
            s,
            "<tr><td><code>{}:{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            e(&b.file),
            b.line,
            e(&b.input),
            e(&b.error),
            e(&b.reason)
        )?;
    }
    writeln!(s, "</tbody></table></section>")
}
