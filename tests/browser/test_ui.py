"""The Airflow UI in a real browser: headless Chromium (Debian's package, driven by Selenium through
/usr/bin/chromedriver) signs in through the auth manager's login page (SimpleAuthManager's, or FAB's in the scenario
that runs the FAB auth manager), opens the DAG's runs and sees the run's success in the page itself; the screenshot
is kept.

Environment:
    AIRFLOW_UI_URL                 the api-server through its Service, e.g. http://172.20.0.2:30080 (required)
    AIRFLOW_UI_USERNAME / _PASSWORD  an Airflow user (required)
    AIRFLOW_UI_DAG_ID              the DAG to open (default smoke_trivial)
    AIRFLOW_UI_RUN_ID              the run that must show as success (default: the newest run shown)
    AIRFLOW_UI_SCREENSHOT          where the PNG goes (default <repo>/.work/test-output/ui-dag-run.png)
    AIRFLOW_UI_TIMEOUT             seconds to wait for each page (default 120; the UI is slow on 2 cores)
    AIRFLOW_UI_AUTH_MANAGER        simple or fab (default: either): fab checks that the login page is FAB's
                                   (a server-rendered form with a CSRF token) and that the signed-in UI shows
                                   FAB's Security menu

Skips only when the URL or the credentials are not given; a missing browser is a failure.
Run: tests/scripts/install-browser.sh, then AIRFLOW_UI_URL=... pytest tests/browser (extensions/molecule/default/verify_browser.yml).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
REQUIRED = ("AIRFLOW_UI_URL", "AIRFLOW_UI_USERNAME", "AIRFLOW_UI_PASSWORD")

_missing = [name for name in REQUIRED if not os.environ.get(name)]
pytestmark = pytest.mark.skipif(
    bool(_missing), reason=f"set {', '.join(_missing)} to run the browser test against a live Airflow"
)


@pytest.fixture(scope="module")
def settings() -> dict[str, str | int | Path]:
    """Where to go and what to expect (no secrets)."""
    return {
        "url": os.environ.get("AIRFLOW_UI_URL", "").rstrip("/"),
        "username": os.environ.get("AIRFLOW_UI_USERNAME", ""),
        "dag_id": os.environ.get("AIRFLOW_UI_DAG_ID") or "smoke_trivial",
        "run_id": os.environ.get("AIRFLOW_UI_RUN_ID", ""),
        "screenshot": Path(
            os.environ.get("AIRFLOW_UI_SCREENSHOT") or REPO_ROOT / ".work" / "test-output" / "ui-dag-run.png"
        ),
        "timeout": int(os.environ.get("AIRFLOW_UI_TIMEOUT") or 120),
        "auth_manager": os.environ.get("AIRFLOW_UI_AUTH_MANAGER", ""),
    }


@pytest.fixture(scope="module")
def browser():
    # Imported here so that collecting the module (and skipping it) needs no Selenium.
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        assert os.access(path, os.X_OK), f"{path} is missing: run tests/scripts/install-browser.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _save(driver, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), f"could not write the screenshot {path}"


def _sign_in(driver, settings, wrong: bool = False) -> None:
    # The password stays out of `settings` and out of assertions, so no failure report can print it.
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(driver, settings["timeout"])
    user_field = wait.until(ec.element_to_be_clickable((By.NAME, "username")))
    password_field = driver.find_element(By.NAME, "password")
    user_field.clear()
    user_field.send_keys(settings["username"])
    password_field.clear()
    password_field.send_keys(os.environ["AIRFLOW_UI_PASSWORD"] + ("-wrong" if wrong else ""))
    # SimpleAuthManager's React page has a <button type=submit>, FAB's login page an <input type=submit>
    driver.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit]").click()


def test_ui_sign_in_and_dag_run_success(browser, settings):
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # React re-renders the table while data arrives: an element found a moment ago may be gone; look again.
    wait = WebDriverWait(browser, settings["timeout"], ignored_exceptions=(StaleElementReferenceException,))
    failure_shot = settings["screenshot"].with_name("ui-failure.png")
    try:
        # Unauthenticated: the UI sends the browser to the auth manager's login page.
        browser.get(settings["url"] + "/")
        wait.until(lambda d: "/auth/login" in d.current_url)
        if settings["auth_manager"] == "fab":
            # FAB's own page (Flask-AppBuilder's form, CSRF-protected), not SimpleAuthManager's React one
            wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "form input[name=csrf_token]"),
                       message="the login page is not FAB's (no CSRF-protected form)")

        # A wrong password is refused: still on the login page, no session token.
        _sign_in(browser, settings, wrong=True)
        with pytest.raises(TimeoutException):
            WebDriverWait(browser, 10).until(lambda d: "/auth/login" not in d.current_url)
        assert browser.get_cookie("_token") is None, "a wrong password produced a session token"

        # The right one signs in and leaves the login page.
        _sign_in(browser, settings)
        wait.until(lambda d: "/auth/login" not in d.current_url)
        assert browser.get_cookie("_token") is not None, "signed in, but the UI set no session token"
        if settings["auth_manager"] == "fab":
            # The FAB auth manager adds its Security menu (users, roles) to the UI's side bar (SimpleAuthManager has none)
            wait.until(lambda d: d.find_elements(By.XPATH, "//*[normalize-space(text())='Security']"),
                       message="signed in through FAB, but the UI shows no Security menu")

        # The DAG's runs, as the UI shows them (rendered by the React app from the REST API).
        browser.get(f"{settings['url']}/dags/{settings['dag_id']}/runs")
        assert urlsplit(browser.current_url).path == f"/dags/{settings['dag_id']}/runs", browser.current_url

        def run_row(driver):
            for row in driver.find_elements(By.CSS_SELECTOR, "tbody tr"):
                ids = row.find_elements(By.CSS_SELECTOR, "td[data-testid=table-cell-dag_run_id]")
                badges = row.find_elements(By.CSS_SELECTOR, "td[data-testid=table-cell-state] [data-testid=state-badge]")
                if ids and badges and ids[0].text.strip() and (not settings["run_id"] or ids[0].text.strip() == settings["run_id"]):
                    return ids[0].text.strip(), badges[0].text.strip()
            return False

        run_id, state = wait.until(run_row, message=f"no run {settings['run_id'] or ''} shown for {settings['dag_id']}")
        assert state.lower() == "success", f"the UI shows run {run_id} as {state!r}, not success"
        # The page names the DAG that was opened.
        assert browser.find_elements(By.XPATH, f"//*[normalize-space(text())='{settings['dag_id']}']"), (
            f"the page does not show the DAG {settings['dag_id']}"
        )
        _save(browser, settings["screenshot"])
    except Exception:
        _save(browser, failure_shot)
        raise
