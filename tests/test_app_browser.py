"""The app in a real browser: ``streamlit run app.py`` driven by headless Chromium through Playwright.

Uses the system Chromium (/usr/bin/chromium); never downloads a browser. Opens the app on the Weston option B
scenario, waits for the map, solves, checks that the plan's map, legend and indicators appear, and takes a
screenshot; with ``BNSSG_UPDATE_SCREENSHOT=1`` it also refreshes the README's docs/img/app.png (otherwise a test
run leaves the checkout as it found it).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = ROOT / "docs" / "img" / "app.png"
CHROME_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="system Chromium not found at /usr/bin/chromium"),
]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not become healthy at {url} within {timeout:g} s")


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "BNSSG_APP_SCENARIO": "weston_option_b", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log = tempfile.NamedTemporaryFile(prefix="bnssg-streamlit-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()


def _download(page: Any, button: str, tries: int = 3) -> str:
    """Click a download button and return the file's name; a click that lands while the tab switch's rerun
    replaces the button starts no download, so it is tried again."""
    for attempt in range(tries):
        try:
            with page.expect_download(timeout=10_000) as got:
                page.get_by_role("button", name=button).click()
            return str(got.value.suggested_filename)
        except Exception:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


def test_solve_in_the_browser_shows_map_and_kpis(app_url: str) -> None:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1450})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(app_url, wait_until="domcontentloaded", timeout=30_000)
            page.get_by_text("BNSSG neighbourhood access planner").first.wait_for(timeout=45_000)
            # the map (deck.gl canvas) is drawn before anything is solved
            deck = page.locator("[data-testid='stDeckGlJsonChart']")
            deck.first.wait_for(timeout=45_000)
            deck.locator("canvas").first.wait_for(timeout=30_000)
            page.get_by_text("Press Solve", exact=False).first.wait_for(timeout=30_000)
            # solve Weston option B
            page.get_by_role("button", name="Solve").click()
            page.get_by_text("Optimal plan", exact=False).first.wait_for(timeout=90_000)
            metrics = page.locator("[data-testid='stMetric']")
            metrics.nth(7).wait_for(timeout=30_000)
            text = metrics.all_inner_texts()
            assert any("Hubs open" in t and "2" in t for t in text), text
            assert any("Annual cost" in t and "£" in t for t in text), text
            page.get_by_text("hub (daytime) (2)").first.wait_for(timeout=30_000)
            canvas = deck.locator("canvas").first
            box = canvas.bounding_box()
            assert box is not None and box["width"] > 400 and box["height"] > 300
            assert not page.get_by_text("Traceback").count()
            page.wait_for_timeout(1500)  # let deck.gl finish drawing the layers
            tmp_shot = Path(tempfile.gettempdir()) / "bnssg-app.png"
            page.screenshot(path=str(tmp_shot), full_page=False)
            assert tmp_shot.stat().st_size > 20_000  # a drawn page, not a blank one
            if os.environ.get("BNSSG_UPDATE_SCREENSHOT") == "1":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(tmp_shot, SCREENSHOT)
            assert not [e for e in errors if "deck" in e.lower()], errors
            # the tab a planner chose stays chosen when a click in it reruns the app (it jumped back to Map)
            page.get_by_role("tab", name="Downloads").click()
            assert _download(page, "Sites in the plan (CSV)") == "weston_option_b-sites.csv"
            page.wait_for_timeout(3000)  # the rerun the click caused
            assert page.get_by_role("tab", name="Downloads").get_attribute("aria-selected") == "true"
            assert page.get_by_role("button", name="Prepare the HTML report").is_visible()
        finally:
            browser.close()
