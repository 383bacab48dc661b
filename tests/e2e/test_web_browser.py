"""Issue 5 end to end: a real `rempart serve` on loopback driven by Debian's Chromium.

First sign-in, open an incident, write in the logbook, finish a task, draft a status change
(communications) and approve it (an official), see it on the public page and in the static
export, and a user of another town refused. Every page is checked for Content-Security-Policy
violations (no inline script or style may sneak in).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e._serve import REMPART, serving
from tests.web.conftest import PASSWORD, build_world

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(params=[1, 2], ids=["1-worker", "2-workers"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`rempart serve` on a fresh SQLite store with two towns; yields (base URL, store URL).

    With 2 workers uvicorn imports the app by name in each process (the path a shared
    service uses under load): it must behave the same.
    """
    url = f"sqlite:///{tmp_path / 'store.db'}"
    build_world(url)
    with serving(url, workers=request.param) as base:
        yield base, url


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium; ./dev test does)"
        )
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser, violations: list[str]):
    page = browser.new_context().new_page()
    page.set_default_timeout(15_000)
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page


def _shows(page, url: str, text: str) -> None:
    """The public page shows `text`: at once from the approving process, within a second
    (public.TTL) from another worker's cache."""
    deadline = time.monotonic() + 5
    while True:
        page.goto(url)
        if text in page.content() or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert text in page.text_content("#svc-email")


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#who")
    assert page.text_content("#who") == email


def test_incident_day_in_a_browser(server: tuple[str, str], browser, tmp_path: Path) -> None:
    base, url = server
    violations: list[str] = []

    # A responder signs in for the first time and opens the incident.
    alice = _page(browser, violations)
    _sign_in(alice, base, "alice@ville-a.test")
    alice.click("#new-incident")
    alice.fill("input[name=key]", "2026-11-ville-a")
    alice.fill("input[name=title]", "Rançongiciel sur le serveur de la mairie")
    alice.select_option("select[name=owner]", "ville-a")
    alice.fill("input[name=towns]", "ville-a")
    alice.fill("input[name=services]", "messagerie, état civil")
    alice.click("#incident-form button[type=submit]")
    alice.wait_for_url(f"{base}/incidents/2026-11-ville-a")
    assert "Rançongiciel" in alice.text_content("#incident-title")

    # Logbook entry.
    alice.fill("#logbook-form textarea[name=what]", "Serveur de fichiers débranché du réseau")
    alice.click("#logbook-form button[type=submit]")
    alice.wait_for_selector("#entry-1")
    assert "débranché" in alice.text_content("#entry-1")

    # Tasks from a playbook; the first one is done (the select submits by itself: app.js).
    alice.select_option("#playbook-form select[name=playbook]", "first-hours")
    alice.click("#playbook-form button[type=submit]")
    first = alice.locator("table.tasks tbody tr").first
    task_id = first.get_attribute("id")
    first.locator("select[name=status]").select_option("done")
    alice.wait_for_selector(f"#{task_id}.task-done")
    assert "Task done" in alice.text_content("table.log")  # the library logged it

    # Communications drafts a status change; it is not public yet.
    carol = _page(browser, violations)
    _sign_in(carol, base, "carol@ville-a.test")
    carol.goto(f"{base}/communications")
    form = "#draft-form-ville-a"
    carol.select_option(f"{form} select[name=service]", "email")
    carol.select_option(f"{form} select[name=level]", "down")
    carol.fill(f"{form} textarea[name=message_fr]", "Messagerie coupée : appelez le 01 02 03 04 05")
    carol.fill(f"{form} textarea[name=message_en]", "E-mail is down: call 01 02 03 04 05")
    carol.click(f"{form} button[type=submit]")
    carol.wait_for_selector("#desk-ville-a .draft")
    assert carol.locator("#desk-ville-a button.approve").count() == 0

    resident = _page(browser, violations)
    resident.goto(f"{base}/status/ville-a")
    assert "Messagerie coupée" not in resident.content()

    # An official approves it: the public page shows it, in French and English.
    olivia = _page(browser, violations)
    _sign_in(olivia, base, "olivia@ville-a.test")
    olivia.goto(f"{base}/communications")
    olivia.click("#desk-ville-a button.approve")
    olivia.wait_for_selector("#desk-ville-a svg.chart")
    _shows(resident, f"{base}/status/ville-a", "Messagerie coupée")
    resident.click("nav a[hreflang=en]")
    assert "E-mail is down" in resident.text_content("#svc-email")

    # The static export (to host outside the compromised network) shows it too.
    out = tmp_path / "site"
    done = subprocess.run(
        [REMPART, "status", "export", str(out), "--db", url],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    resident.goto((out / "ville-a" / "index.html").as_uri())
    assert "Messagerie coupée" in resident.text_content("#svc-email")

    # A responder of another town is refused the incident, and does not see it listed.
    bob = _page(browser, violations)
    _sign_in(bob, base, "bob@ville-b.test")
    assert "2026-11-ville-a" not in bob.content()
    answer = bob.goto(f"{base}/incidents/2026-11-ville-a")
    assert answer is not None and answer.status == 404
    assert "Rançongiciel" not in bob.content()

    assert violations == []
