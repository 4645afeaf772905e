"""The HTML report in a real headless browser (Debian's chromium): every figure decodes, the page is not
blank, and the screenshot is kept (in $NETADAPT_TEST_ARTIFACTS when set, else in the test's folder)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from netadapt.report import write_report

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
               None)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(BROWSER is None, reason="no chromium installed (Debian: apt install chromium)")]


def _chromium(*args, home):
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--user-data-dir={home / 'profile'}", "--virtual-time-budget=5000", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(home)})


def _artifact(path: Path) -> Path:
    folder = os.environ.get("NETADAPT_TEST_ARTIFACTS")
    if not folder:
        return path
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(path, Path(folder) / path.name))


def test_the_report_renders_in_a_browser_with_every_figure(run_copy, tmp_path):
    page = write_report(run_copy, tmp_path / "report")["report.html"]
    url = page.resolve().as_uri()
    dom = _chromium("--dump-dom", url, home=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    loaded = re.search(r'data-images="(\d+)/(\d+)"', dom.stdout)
    assert loaded, "the page's load handler did not run"
    ok, total = map(int, loaded.groups())
    assert total == 3 and ok == total
    assert "\">figure could not be shown" not in dom.stdout

    shot = tmp_path / "report-screenshot.png"
    result = _chromium(f"--screenshot={shot}", "--window-size=1200,2400", url, home=tmp_path)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.shape == (2400, 1200)
    dark = (pixels < 128).mean()
    assert 0.005 < dark < 0.5  # text, tables and plots: neither blank nor a solid block
    assert len(np.unique(pixels)) > 50  # anti-aliased text and figures, not a flat page
    _artifact(shot)


def test_a_broken_figure_is_reported_on_the_page(run_copy, tmp_path):
    page = write_report(run_copy, tmp_path / "report")["report.html"]
    html = page.read_text()
    first = html.index("data:image/png;base64,") + len("data:image/png;base64,")
    page.write_text(html[:first] + "AAAA" + html[first + 200:])  # a corrupt first figure
    dom = _chromium("--dump-dom", page.resolve().as_uri(), home=tmp_path)
    assert re.search(r'data-images="2/3"', dom.stdout)
    assert "\">figure could not be shown: " in dom.stdout
