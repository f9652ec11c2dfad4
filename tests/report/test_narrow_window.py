"""The demo's report pages in a real browser (headless Chromium): at a laptop's 768 px and at
1,280 px, no page is wider than its window, so nothing scrolls sideways; a wide table scrolls in
its own box. Chromium comes from apt (``.ci/run`` installs it); without it the test says so."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
PAGES = ("run/report/index.html", "run/balance/report/balance.html", "run/shard/report/balance.html")
# Written into a copy of the page: the page's full width, and the widest elements, once laid out.
PROBE = (
    "<script>const wide = [...document.querySelectorAll('body *')]"
    ".filter(e => e.getBoundingClientRect().right > innerWidth + 1)"
    ".map(e => e.tagName + ' ' + (e.textContent || '').trim().slice(0, 30)).slice(0, 5);"
    "document.body.dataset.width = document.documentElement.scrollWidth;"
    "document.body.dataset.wide = wide.join(' | ');</script></body>"
)


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no chromium on this machine (apt install chromium)")
@pytest.mark.parametrize("width", [768, 1280])
@pytest.mark.parametrize("page", PAGES)
def test_no_report_page_is_wider_than_its_window(finished_demo, tmp_path, page, width):
    html = (finished_demo / "runs/demo" / page).read_text(encoding="utf-8")
    probe = tmp_path / "page.html"
    probe.write_text(html.replace("</body>", PROBE), encoding="utf-8")
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},900",
         "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    laid_out = re.search(r'data-width="(\d+)"', done.stdout)
    assert laid_out, done.stderr[-2000:]
    wide = re.search(r'data-wide="([^"]*)"', done.stdout).group(1)
    assert int(laid_out.group(1)) <= width, f"{page} at {width} px is {laid_out.group(1)} px wide: {wide}"


# Written into the page: its width, and how many of its pictures did not load.
PICTURES_PROBE = (
    "<script>window.addEventListener('load', () => {"
    "document.body.dataset.width = document.documentElement.scrollWidth;"
    "document.body.dataset.images = document.images.length;"
    "document.body.dataset.broken = [...document.images].filter(i => !i.complete || !i.naturalWidth).length;"
    "});</script></body>"
)


@pytest.fixture(scope="module")
def curated_report(finished_demo, tmp_path_factory) -> str:
    """The demo's run with embed and curate added (scored by the demo's own model), its report."""
    from wit_builder.cli import main
    from wit_builder.report.run_page import write_run_report

    demo = finished_demo / "runs" / "demo" / "run"
    run = tmp_path_factory.mktemp("curated") / "run"
    shutil.copytree(demo / "download", run / "download")
    assert main(["embed", "--samples", str(run / "download"), "--out", str(run / "embed"),
                 "--model", str(demo / "train")]) == 0  # fmt: skip
    assert main(["curate", "--embeddings", str(run / "embed"), "--out", str(run / "curate"),
                 "--clip-score-top", "0.7"]) == 0  # fmt: skip
    return write_run_report(str(run))


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no chromium on this machine (apt install chromium)")
@pytest.mark.parametrize("width", [768, 1280])
def test_the_curation_section_fits_its_window_and_every_picture_loads(curated_report, tmp_path, width):
    html = Path(curated_report).read_text(encoding="utf-8")
    assert "<h2>Curation by model</h2>" in html and html.count("data:image/jpeg;base64,") >= 16
    probe = tmp_path / "page.html"
    probe.write_text(html.replace("</body>", PICTURES_PROBE), encoding="utf-8")
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},900",
         "--virtual-time-budget=5000", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    laid_out = re.search(r'data-width="(\d+)"', done.stdout)
    assert laid_out, done.stderr[-2000:]
    assert int(laid_out.group(1)) <= width, f"the report with curation at {width} px is {laid_out.group(1)} px wide"
    images = int(re.search(r'data-images="(\d+)"', done.stdout).group(1))
    assert images >= 16 and re.search(r'data-broken="(\d+)"', done.stdout).group(1) == "0"


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no chromium on this machine (apt install chromium)")
@pytest.mark.parametrize("width", [768, 1280])
def test_the_pictures_section_loads_every_picture_without_a_console_error(finished_demo, tmp_path, width):
    """The demo's run report with its "Pictures of what was kept and dropped": every thumbnail
    loads, the browser's console stays silent, and the page fits the window."""
    html = (finished_demo / "runs/demo/run/report/index.html").read_text(encoding="utf-8")
    start = html.index("<h2>Pictures of what was kept and dropped</h2>")
    assert html[start:].count("data:image/jpeg;base64,") >= 40
    probe = tmp_path / "page.html"
    probe.write_text(html.replace("</body>", PICTURES_PROBE), encoding="utf-8")
    done = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={width},900",
         "--virtual-time-budget=5000", "--enable-logging=stderr", "--v=0", "--dump-dom", probe.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    laid_out = re.search(r'data-width="(\d+)"', done.stdout)
    assert laid_out, done.stderr[-2000:]
    assert int(laid_out.group(1)) <= width, f"the run report at {width} px is {laid_out.group(1)} px wide"
    assert int(re.search(r'data-images="(\d+)"', done.stdout).group(1)) >= 40
    assert re.search(r'data-broken="(\d+)"', done.stdout).group(1) == "0"
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console[:3]
