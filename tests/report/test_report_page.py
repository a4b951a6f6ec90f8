"""`index.html`: one self-contained page (findings first, every section, plots embedded), and
the same page rendered by a real headless browser (Debian's chromium; skipped when absent)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from ftbench.report.build import report_main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def peer_page(peer_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("peer_page")
    result = report_main(peer_csv, out, console=Console(file=io.StringIO(), width=120))
    return result, result["page"].read_text(encoding="utf-8")


def test_page_is_self_contained_with_findings_first(peer_page):
    result, page = peer_page
    assert result["page"].name == "index.html"
    assert not re.search(r"""(src|href)=['"]?(https?:|//|file:)""", page)
    assert "<link" not in page and "<script src" not in page
    images = re.findall(r"<img alt='([^']+)' src='data:image/png;base64,", page)
    assert sorted(images) == sorted(result["plots"])  # every plot embedded, once
    order = [page.index(f"<h2>{title}</h2>") for title in (
        "Key findings", "1. Overall ranking", "1b. Resolution of the test set",
        "2. By training size", "6. Descriptive statistics and correlations", "Skipped",
        "Notes on the input")]
    assert order == sorted(order)
    assert "llama-3.2-3b-2000</strong> leads on overall_score with 0.7051" in page
    assert page.count("<table class='sortable'>") >= 10
    assert "data-v='0.7051411505223145'" in page  # numeric cells sort by their full value


def _chromium(*args: str, cwd) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={cwd / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180, cwd=cwd, check=False)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_page_renders_in_headless_chromium(peer_page, tmp_path):
    result, _ = peer_page
    url = result["page"].resolve().as_uri()
    dom = _chromium("--virtual-time-budget=5000", "--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body[^>]*>", dom.stdout).group(0)
    ok = int(re.search(r'data-images-ok="(\d+)"', body).group(1))
    total = int(re.search(r'data-images="(\d+)"', body).group(1))
    assert ok == total == len(result["plots"])  # every embedded PNG decoded in the browser
    assert "Uncaught" not in dom.stderr  # no script error in the page
    shot = tmp_path / "page.png"
    run = _chromium(f"--screenshot={shot}", "--window-size=1280,2400", url, cwd=tmp_path)
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    with Image.open(shot) as img:
        assert img.size == (1280, 2400)
        pixels = np.asarray(img.convert("L"), dtype=float)
    rows_with_ink = (pixels < 200).any(axis=1).mean()
    assert rows_with_ink > 0.3  # text, tables and a plot, not a blank page


_CLICK = """<script>
var t = document.querySelector('table.sortable'), cells = Array.from(t.tHead.rows[0].cells);
function column(name) { var i = cells.findIndex(function (c) { return c.textContent === name; });
  cells[i].click();
  return Array.from(t.tBodies[0].rows).map(function (r) { return r.cells[i].textContent; }); }
document.body.dataset.scoreAsc = column('overall_score').join('|');
document.body.dataset.scoreDesc = column('overall_score').join('|');
document.body.dataset.models = column('model').join('|');
</script></body>"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_clicking_a_header_sorts_the_table_in_chromium(peer_page, tmp_path):
    """The page's own sort script, driven by clicks in the browser (a copy of the page gets a
    script appended that clicks headers and records the resulting column order)."""
    result, page = peer_page
    probe = result["page"].parent / "probe.html"
    probe.write_text(page.replace("</body>", _CLICK), encoding="utf-8")
    try:
        dom = _chromium("--virtual-time-budget=5000", "--dump-dom", probe.resolve().as_uri(),
                        cwd=tmp_path)
    finally:
        probe.unlink()
    assert dom.returncode == 0 and "Uncaught" not in dom.stderr, dom.stderr[-2000:]

    def attr(name: str) -> list[str]:
        return re.search(rf'data-{name}="([^"]*)"', dom.stdout).group(1).split("|")

    scores = [float(v) for v in attr("score-asc")]
    assert len(scores) == 24 and scores == sorted(scores)
    assert [float(v) for v in attr("score-desc")] == sorted(scores, reverse=True)
    models = attr("models")
    assert models == sorted(models)
