"""schemathesis against the OpenAPI schema, signed in: whatever it sends, never a 5xx."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from tests.web.conftest import PASSWORD, build_world

from rempart.web import create_app
from rempart.workspace import passwords

#: Small on purpose: ~25 operations x 3 kinds x this many cases stay under a minute.
EXAMPLES = 8
#: Path parameters naming objects made by the fixture.
EXISTING = {"key": "a", "town": "ville-a", "slug": "ville-a", "task_id": 1, "update_id": 1}


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory: pytest.TempPathFactory):
    passwords.configure(time_cost=1, memory_cost=8 * 1024)
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'store.db'}"
    build_world(url)
    app = create_app(url)
    with TestClient(app) as client:
        r = client.post("/api/login", json={"email": "sam@sdn.test", "password": PASSWORD})
        app.state.fuzz_token = r.json()["token"]
        # Objects that exist, so that generated bodies reach the library, not just a 404.
        auth = {"Authorization": f"Bearer {app.state.fuzz_token}"}
        client.post(
            "/api/incidents",
            json={"key": "a", "title": "t", "owner": "sdn", "towns": ["ville-a"]},
            headers=auth,
        )
        client.post("/api/incidents/a/playbooks", json={"playbook": "recovery"}, headers=auth)
        draft = {"service": "email", "level": "down", "message_fr": "f", "message_en": "e"}
        client.post("/api/status/ville-a/drafts", json=draft, headers=auth)
    yield app
    app.state.web.engine.dispose()
    passwords.configure(time_cost=3, memory_cost=64 * 1024)


def test_no_server_error(fuzz_app) -> None:
    """Every operation: generated valid cases (anywhere, then on existing objects) and invalid
    ones. schemathesis's pytest plugin does not load under pytest 9, so the operations are
    walked here, each with its hypothesis strategy.
    """
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)
    auth = {"Authorization": f"Bearer {fuzz_app.state.fuzz_token}"}
    failures: list[str] = []
    walked = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/logout":
            continue  # signing out would end the session every other case uses
        walked += 1
        names = {p.name for p in operation.path_parameters}
        known = {k: v for k, v in EXISTING.items() if k in names}
        _fuzz(operation, GenerationMode.POSITIVE, {}, auth, failures)
        if known:
            _fuzz(operation, GenerationMode.POSITIVE, known, auth, failures)
        _fuzz(operation, GenerationMode.NEGATIVE, {}, auth, failures)
    assert walked >= 20
    assert failures == []


def _fuzz(operation, mode, known, auth, failures) -> None:
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=known or None)

    @given(case=strategy)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,  # the same cases on every run: a failure is reproducible
        database=None,
    )
    def call(case) -> None:
        response = case.call(headers=auth)
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

    # Unsatisfiable: nothing invalid to generate (an operation without parameters).
    with contextlib.suppress(Unsatisfiable):
        call()
