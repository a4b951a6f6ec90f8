"""`index.html`: the whole report as one self-contained page — findings first, then every
section with its tables and plots.

What a researcher opens and shares: one file, plots embedded as base64 PNG, CSS and a few lines
of JavaScript inline (click a column header to sort), no server and no network. The tables are
the same frames the CSVs hold (long ones trimmed as in summary.md, with the CSV named).
"""

from __future__ import annotations

import base64
import html
import math
import re
from importlib import metadata
from pathlib import Path

import pandas as pd

from ftbench.core.io import atomic_write_text
from ftbench.report.markdown import fmt, view
from ftbench.report.section import Context, Section

MAX_FULL_ROWS = 200

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;
padding:1.5em 2em;color:#1d1d1f;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;
margin-top:2em}.meta{color:#57606a;font-size:.9em}
nav ol{columns:3;font-size:.9em}.findings{background:#f6f8fa;border-left:4px solid #0969da;
padding:.6em 1.2em}.findings li{margin:.45em 0}
.tablewrap{overflow-x:auto;max-height:520px;overflow-y:auto;margin:.4em 0 1.2em}
table{border-collapse:collapse;font-size:.82em}th,td{border:1px solid #d0d7de;padding:3px 7px;
white-space:nowrap}th{background:#eef1f4;cursor:pointer;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr:nth-child(even) td{background:#fafbfc}
caption{caption-side:top;text-align:left;font-weight:600;padding:.3em 0}
img{max-width:min(100%,900px);border:1px solid #d0d7de;margin:.4em 0}.skip{color:#9a6700}
.notes li{color:#9a6700}
"""

# Click a header to sort by that column (numbers by value, text alphabetically; again = reverse).
# On load, <body data-images-ok> counts the embedded plots that decoded (checked in a browser test).
_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th){
 th.addEventListener('click',function(){
  var table=th.closest('table'),body=table.tBodies[0],i=Array.from(th.parentNode.children).indexOf(th);
  var asc=th.dataset.sort!=='asc';table.querySelectorAll('th').forEach(function(h){delete h.dataset.sort});
  th.dataset.sort=asc?'asc':'desc';
  var rows=Array.from(body.rows),key=function(r){var c=r.cells[i];var v=c.dataset.v;
   return v!==undefined&&v!==''?parseFloat(v):c.textContent.trim().toLowerCase()};
  rows.sort(function(a,b){var x=key(a),y=key(b);if(typeof x!==typeof y){return typeof x==='number'?-1:1}
   return (x<y?-1:x>y?1:0)*(asc?1:-1)});rows.forEach(function(r){body.appendChild(r)});});});
window.addEventListener('load',function(){var imgs=Array.from(document.images);
 document.body.dataset.imagesOk=imgs.filter(function(i){return i.complete&&i.naturalWidth>0}).length;
 document.body.dataset.images=imgs.length;});
"""

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def _version(package: str = "ftbench") -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def inline(text: str) -> str:
    """Escape text, then render the markdown the sections use (**bold**, `code`)."""
    out = html.escape(str(text))
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _CODE.sub(r"<code>\1</code>", out)


def anchor(sec: Section) -> str:
    return "s-" + re.sub(r"[^a-z0-9]+", "-", sec.key.lower())


def table_html(name: str, frame: pd.DataFrame, ctx: Context) -> str:
    shown, caption = (frame, "") if len(frame) <= MAX_FULL_ROWS and name != "confusion" \
        else view(name, frame, ctx)
    if shown.empty:
        return f"<p class='meta'>{html.escape(name)}: {html.escape(caption or 'empty')} " \
               f"(tables/{html.escape(name)}.csv)</p>"
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        cells = []
        for value in row:
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if number and not (isinstance(value, float) and math.isnan(value)):
                cells.append(f"<td class='num' data-v='{float(value)!r}'>{html.escape(fmt(value))}"
                             "</td>")
            else:
                cells.append(f"<td>{html.escape(fmt(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    label = f"{name} (tables/{name}.csv" + (f"; {caption}" if caption else "") + ")"
    return (f"<div class='tablewrap'><table class='sortable'><caption>{html.escape(label)}"
            f"</caption><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def image_html(name: str, path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"<figure><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'></figure>"


def section_html(sec: Section, ctx: Context, out: Path) -> str:
    parts = [f"<section id='{anchor(sec)}'><h2>{html.escape(sec.title)}</h2>"]
    if sec.key == "findings" and sec.text:
        items = "".join(f"<li>{inline(re.sub(r'^[0-9]+[.] ', '', t))}</li>" for t in sec.text)
        parts.append(f"<ol class='findings'>{items}</ol>")
    else:
        parts += [f"<p>{inline(t)}</p>" for t in sec.text]
        parts += [image_html(n, out / rel) for n, rel in sec.plots.items()
                  if (out / rel).is_file()]
        parts += [table_html(n, f, ctx) for n, f in sec.tables.items()]
    parts += [f"<p class='skip'>Skipped: {inline(r)}</p>" for r in sec.skipped]
    return "".join(parts) + "</section>"


def write_page(ctx: Context, sections: list[Section], path: Path, skipped: list[str],
               notes: list[str]) -> Path:
    """Render every section into one HTML file at `path` (plots read from beside it)."""
    out = path.parent
    data = ctx.data
    kind = "study directory" if data.kind == "study" else "flat table"
    shown = [s for s in sections if not s.empty or s.skipped]
    toc = "".join(f"<li><a href='#{anchor(s)}'>{html.escape(s.title)}</a></li>" for s in shown)
    body = [f"<h1>ftbench report — {html.escape(data.source.name)}</h1>",
            f"<p class='meta'>Source: <code>{html.escape(str(data.source))}</code> ({kind}, "
            f"{len(data.table)} models). Ranking score: <code>{html.escape(ctx.score)}</code>. "
            "Every number is computed from the result files; the CSV of each table is in "
            f"<code>tables/</code>. Made by ftbench {html.escape(_version())} (scipy "
            f"{html.escape(_version('scipy'))}, scikit-learn {html.escape(_version('scikit-learn'))})"
            f", seed {ctx.options.seed}, {ctx.options.n_boot} bootstrap resamples.</p>",
            f"<nav><ol>{toc}<li><a href='#s-notes'>Notes on the input</a></li></ol></nav>"]
    body += [section_html(s, ctx, out) for s in shown]
    body.append("<section id='s-skipped'><h2>Skipped</h2><ul>"
                + ("".join(f"<li>{inline(s)}</li>" for s in skipped) or "<li>nothing</li>")
                + "</ul></section>")
    body.append("<section id='s-notes'><h2>Notes on the input</h2><ul class='notes'>"
                + ("".join(f"<li>{inline(n)}</li>" for n in notes) or "<li>none</li>")
                + "</ul></section>")
    page = ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>ftbench report — {html.escape(data.source.name)}</title>"
            f"<style>{_CSS}</style></head><body>{''.join(body)}<script>{_JS}</script>"
            "</body></html>\n")
    atomic_write_text(path, page)
    return path
