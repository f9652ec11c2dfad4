"""The docs site reads from disk and offline: page links end in .html (a folder link opened from
disk shows a directory listing) and nothing is fetched from elsewhere (Google Fonts was)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_built_site_links_files_and_asks_nothing_of_the_network(tmp_path):
    docs = tmp_path / "docs"
    subprocess.run(["cp", "-r", str(ROOT / "docs"), str(docs)], check=True)
    readme = (ROOT / "README.md").read_text()
    (docs / "index.md").write_text(readme.replace("](docs/", "]("))  # as `make docs` makes it
    (tmp_path / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text())
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    for page in pages:
        html = page.read_text()
        loads = re.findall(r'<(?:script|img|link)[^>]*(?:src|href)="(https?:)?//[^"]*"', html)
        assert not loads, (page.name, loads)  # a link to elsewhere is fine; a resource loaded from there is not
        folders = [target for target in re.findall(r'<a[^>]*href="([^"#:]+)"', html) if target.endswith("/")]
        assert not folders, (page.name, folders)  # opened from disk, a folder link lands on a listing
