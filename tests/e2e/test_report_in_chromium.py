"""The review report as a person sees it: headless Chromium renders the page (offline), takes a
screenshot, and the charts are really drawn. CI installs Debian's chromium (.ci/run); on a
machine without it this test is skipped, and under CI it fails instead."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_installed import _pipectl

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]  # fmt: skip


@pytest.fixture
def report(tmp_path: Path) -> Path:
    if not CHROMIUM:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPECTL_")}
    env.update(PIPECTL_DB=str(tmp_path / "p.db"), TZ="UTC", NO_COLOR="1")
    run = [sys.executable, _pipectl()]
    subprocess.run([*run, "--db", env["PIPECTL_DB"], "demo", "--deals", "60"], env=env,
                   check=True, capture_output=True)  # fmt: skip
    subprocess.run([*run, "target", "set", "2026-Q4", "400k"], env=env, check=True)
    listed = subprocess.run([*run, "list", "--json", "-n", "1"], env=env, check=True,
                            capture_output=True, text=True)  # fmt: skip
    first_open = str(json.loads(listed.stdout)[0]["id"])
    subprocess.run([*run, "block", first_open, "security review", "--owner", "leadership"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    page = tmp_path / "review.html"
    subprocess.run([*run, "review", "--html", str(page)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    return page


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],  # type: ignore[list-item]
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_report_renders_with_its_charts(report: Path, tmp_path: Path) -> None:
    dom = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert dom.returncode == 0, dom.stderr[-500:]
    html = dom.stdout
    for chart in ("chart-pipeline", "chart-forecast", "chart-trend"):
        start = html.index(f'id="{chart}"')
        assert "<svg" in html[start : start + 2000], chart  # the chart's SVG is in the page
    assert "security review" in html and "Agenda" in html

    shot = tmp_path / "review.png"
    r = _chromium(tmp_path, "--window-size=1100,2600", f"--screenshot={shot}", report.as_uri())
    assert r.returncode == 0 and shot.exists(), r.stderr[-500:]
    from matplotlib.image import imread

    pixels = imread(shot)  # height × width × channels, 0..1
    assert pixels.shape[0] == 2600 and pixels.shape[1] == 1100
    # the charts' bars are drawn in the report's blues: a page without them has almost none
    red, blue_ch = pixels[..., 0], pixels[..., 2]
    blue = ((blue_ch > 0.6) & (red < 0.6) & (blue_ch - red > 0.25)).sum()
    assert blue > 5_000, f"only {blue} blue pixels: the charts did not render"
