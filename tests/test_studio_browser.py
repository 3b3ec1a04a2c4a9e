"""yeko-sql studio in a real browser: Debian's headless Chromium, driven by Selenium.

One walk through the studio served by uvicorn on a loopback port, against a
seeded copy of Yeko's database: open the catalog, run a ``:page`` query with
parameters and read its typed results, open its plan, open the health page
and its chart, then break a query file and watch the error appear without a
restart. Each page's screenshot goes to ``YEKO_STUDIO_SHOTS`` when set
(``make studio-shots``).

Chromium and chromedriver come from ``.ci/ensure-chromium`` (``make test``
runs it); without them the test is skipped with the reason, never passed.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fix_studio import seeded_copy
from yeko_sql.ops.devserver import free_port
from yeko_sql.studio.app import StudioConfig, create_app
from yeko_sql.yeko.resources import sql_dir as yeko_sql_dir

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or DRIVER is None,
    reason="chromium and chromium-driver are not installed (bash .ci/ensure-chromium)",
)

WAIT = 20.0


@pytest.fixture(scope="module")
def seeded(yeko_server: Any, yeko_template: str) -> Iterator[str]:
    with seeded_copy(yeko_server, yeko_template, "studio_browser_test") as url:
        yield url


@pytest.fixture(scope="module")
def served(
    seeded: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StudioConfig, Path]]:
    """The studio on a free loopback port, watching a copy of Yeko's query files."""
    import uvicorn  # noqa: PLC0415  (the studio extra)

    root = tmp_path_factory.mktemp("studio-browser")
    folder = root / "sql"
    shutil.copytree(yeko_sql_dir(), folder)
    config = StudioConfig(
        url=seeded,
        paths=[folder],
        models=["yeko_sql.yeko.domain"],
        app_role="yeko_app",
        tenant_column="school_id",
        port=free_port(),
        snippets_dir=root / "snippets",
        snapshots_file=root / "health.jsonl",
        snapshot_every=1.0,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config), host="127.0.0.1", port=config.port, log_level="warning"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT
    while not server.started:
        assert time.monotonic() < deadline, "the studio did not start"
        time.sleep(0.05)
    try:
        yield config, folder
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver  # noqa: PLC0415  (a dev dependency)
    from selenium.webdriver.chrome.service import Service  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1000",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: Any, name: str) -> None:
    folder = os.environ.get("YEKO_STUDIO_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / f"{name}.png"))


def _wait_for(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support import expected_conditions  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    return WebDriverWait(driver, WAIT).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
    )


def _run_a_page(browser: Any, school: str) -> None:
    """Fill the run form of students.list_students and check its typed results."""
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    _wait_for(browser, "#run-form")
    browser.find_element(By.NAME, "p:school_id").send_keys(school)
    size = browser.find_element(By.NAME, "page_size")
    size.clear()
    size.send_keys("5")
    browser.find_element(By.ID, "run").click()
    table = _wait_for(browser, "#rows")
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == 5
    headers = table.find_element(By.TAG_NAME, "thead").text
    assert "full_name" in headers
    assert "text · not null" in headers
    assert "date · nullable" in headers
    summary = browser.find_element(By.ID, "run-summary").text
    assert "5 row(s) of" in summary
    assert "(page 1 of" in summary
    _shot(browser, "2-run")


def test_a_walk_through_the_studio(
    browser: Any, served: tuple[StudioConfig, Path], seeded: str
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    config, folder = served
    base = f"http://127.0.0.1:{config.port}"
    with psycopg.connect(seeded) as conn:
        row = conn.execute("SELECT id FROM schools ORDER BY code LIMIT 1").fetchone()
    assert row is not None
    school = str(row[0])

    # The catalog, opened with the token the studio printed.
    browser.get(f"{base}/?token={config.token}")
    link = _wait_for(browser, 'a[href="/query/students.list_students"]')
    assert "students" in browser.find_element(By.TAG_NAME, "main").text
    _shot(browser, "1-catalog")

    # A :page query with parameters: typed results.
    link.click()
    _run_a_page(browser, school)

    # Its plan: both plans, the verdict, the stored shape.
    browser.find_element(By.ID, "plan").click()
    verdict = _wait_for(browser, "#plan-verdict")
    assert "guardrails" in verdict.text or "guardrail" in verdict.text
    report = browser.find_element(By.ID, "plan-report").text
    assert "generic plan" in report
    assert "students.list_students[none].plan" in report
    browser.execute_script("document.getElementById('plan-report').scrollIntoView()")
    _shot(browser, "3-plan")

    # Health: the guardrails, and a chart of the snapshots.
    time.sleep(1.5)  # at least one periodic snapshot besides the page's own
    browser.get(f"{base}/health")
    chart = _wait_for(browser, "svg.chart")
    assert chart.find_elements(By.TAG_NAME, "polyline")
    assert "buffer cache hit ratio" in browser.find_element(By.ID, "guardrails").text
    _shot(browser, "4-health")

    # Break a query file: the catalog shows the error without a restart.
    browser.get(f"{base}/")
    _wait_for(browser, 'a[href="/query/students.list_students"]')
    broken = folder / "zz_broken.sql"
    broken.write_text("-- name: oops :many\n-- Returns: Student\nSELECT 1 AS n;\n")
    try:
        error = _wait_for(browser, ".load-error")
        assert "zz_broken.sql:2" in error.text
        _shot(browser, "5-load-error")
    finally:
        broken.unlink()


def test_a_keyset_query_pages_on_with_next_page(
    browser: Any, served: tuple[StudioConfig, Path], seeded: str
) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    config, _ = served
    with psycopg.connect(seeded) as conn:
        row = conn.execute(
            "SELECT y.school_id, y.id FROM school_years AS y"
            " JOIN schools AS s ON s.id = y.school_id ORDER BY s.code, y.starts_on"
            " LIMIT 1"
        ).fetchone()
    assert row is not None
    browser.get(
        f"http://127.0.0.1:{config.port}/query/enrollments.list_school_year_enrollments"
        f"?token={config.token}"
    )
    _wait_for(browser, "#run-form")
    browser.find_element(By.NAME, "p:school_id").send_keys(str(row[0]))
    browser.find_element(By.NAME, "p:school_year_id").send_keys(str(row[1]))
    browser.find_element(By.NAME, "p:limit").send_keys("3")
    for name in ("status", "after_enrolled_at", "after_id"):
        browser.find_element(By.NAME, f"null:{name}").click()
    browser.find_element(By.ID, "run").click()
    first = [
        r.text
        for r in _wait_for(browser, "#rows").find_elements(By.CSS_SELECTOR, "tbody tr")
    ]
    assert len(first) == 3
    browser.find_element(By.ID, "next-page").click()

    from selenium.common.exceptions import (  # noqa: PLC0415
        StaleElementReferenceException,
    )

    def moved(driver: Any) -> bool:
        try:
            rows = driver.find_elements(By.CSS_SELECTOR, "#rows tbody tr")
            return len(rows) == 3 and [r.text for r in rows] != first
        except StaleElementReferenceException:  # the table was just replaced
            return False

    WebDriverWait(browser, WAIT).until(moved)
    second = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#rows tbody tr")]
    assert not set(first) & set(second)  # the next page, not the same one
    _shot(browser, "6-keyset-next")
