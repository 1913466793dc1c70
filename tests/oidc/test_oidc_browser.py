"""Sign-in through OpenID Connect end to end: headless Chromium opens the Airflow UI (FAB auth manager, auth_type
oauth), is sent to the identity provider (tests/oidc/idp.py), signs in there, comes back signed in to Airflow, and
FAB's user API then shows the user made from the ID token with the role roles_mapping gives its group.

Environment (all required, else the test skips):
    AIRFLOW_UI_URL             the api-server, e.g. http://172.20.0.2:30091
    OIDC_IDP_URL               the identity provider as browsers reach it, e.g. http://172.20.0.2:30093
    OIDC_USER / OIDC_PASSWORD  a user of the identity provider
    OIDC_EXPECTED_ROLE         the FAB role its groups map to (e.g. Admin)
    AIRFLOW_ADMIN_USERNAME / AIRFLOW_ADMIN_PASSWORD  Airflow's admin (FAB user database), to read the user's roles
Run: AIRFLOW_UI_URL=... pytest tests/oidc (tests/scripts/install-browser.sh first).
CI runs it in the gitsync Molecule scenario (extensions/molecule/gitsync/verify_oidc.yml): the identity provider
deployed in the scenario's namespace, site.yml converged again with auth_type oauth, every variable above set, and
the scenario fails unless pytest reports 1 passed and nothing skipped.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import pytest

REQUIRED = ("AIRFLOW_UI_URL", "OIDC_IDP_URL", "OIDC_USER", "OIDC_PASSWORD", "OIDC_EXPECTED_ROLE",
            "AIRFLOW_ADMIN_USERNAME", "AIRFLOW_ADMIN_PASSWORD")
_missing = [n for n in REQUIRED if not os.environ.get(n)]
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"set {', '.join(_missing)} to run the OIDC sign-in test")
SHOT = Path(__file__).resolve().parents[2] / ".work" / "test-output" / "ui-oidc.png"


def _json(url: str, body: dict | None = None, token: str = "") -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json", "Accept": "application/json",
                                          **({"Authorization": f"Bearer {token}"} if token else {})})
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 (test URL from the environment)
        return json.loads(r.read())


def test_oidc_sign_in_maps_the_role():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    ui, idp = os.environ["AIRFLOW_UI_URL"].rstrip("/"), os.environ["OIDC_IDP_URL"].rstrip("/")
    user = os.environ["OIDC_USER"]
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 180)
    try:
        driver.get(ui + "/")
        # FAB's login page names the provider; with one provider it may send the browser on at once
        wait.until(lambda d: d.current_url.startswith(idp) or d.find_elements(By.ID, "btn-signin-oidc"))
        if not driver.current_url.startswith(idp):
            # Click as a person would, once the page has loaded: requests of the login page still under way (its fonts)
            # would answer with a new session cookie (FAB's database sessions) and lose the OAuth state stored in
            # the session of the click ("mismatching_state: CSRF Warning!")
            wait.until(lambda d: d.execute_script("return document.readyState") == "complete")
            time.sleep(3)
            driver.find_element(By.ID, "btn-signin-oidc").click()
        wait.until(lambda d: d.current_url.startswith(idp + "/authorize") and d.find_elements(By.ID, "username"))
        driver.find_element(By.ID, "username").send_keys(user)
        driver.find_element(By.ID, "password").send_keys(os.environ["OIDC_PASSWORD"])
        driver.find_element(By.ID, "sign-in").click()
        wait.until(lambda d: d.current_url.startswith(ui) and "/auth/login" not in d.current_url
                   and "/auth/oauth-authorized" not in d.current_url and d.get_cookie("_token"))
        SHOT.parent.mkdir(parents=True, exist_ok=True)
        if os.environ["OIDC_EXPECTED_ROLE"] == "Admin":
            # an Admin sees FAB's Security menu (users, roles) in the UI's side bar
            wait.until(lambda d: d.find_elements(By.XPATH, "//*[normalize-space(text())='Security']"))
        driver.save_screenshot(str(SHOT))
        user_token = driver.get_cookie("_token")["value"]
    finally:
        driver.quit()
    # The token the UI got is the OIDC user's own: the REST API answers it
    assert _json(ui + "/api/v2/version", token=user_token)["version"]
    admin = _json(ui + "/auth/token", {"username": os.environ["AIRFLOW_ADMIN_USERNAME"],
                                       "password": os.environ["AIRFLOW_ADMIN_PASSWORD"]})["access_token"]
    got = _json(f"{ui}/auth/fab/v1/users/{user}", token=admin)
    roles = sorted(r["name"] for r in got.get("roles", []))
    # FAB gives a registered user the mapped roles and AUTH_USER_REGISTRATION_ROLE
    assert os.environ["OIDC_EXPECTED_ROLE"] in roles, f"user {user} has roles {roles}"
    assert got.get("email"), got
