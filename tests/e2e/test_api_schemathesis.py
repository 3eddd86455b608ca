"""Schemathesis against the API's own served OpenAPI document (/api/openapi.json).

A real `newsletter serve` on a project and SQLite database of this module only,
an owner token (so every operation, erase included, is tried; the data is this
module's alone), and a rate limit high enough never to interfere. Each
operation gets a few generated requests, the same ones every run (derandomized,
like the suite's Hypothesis profile): no answer may be a 5xx, and every answer
must match the document — its status code, its content type and its body.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.api import api_client, api_project, make_token
from tests.support.console import ConsoleServer
from tests.support.project import CLINIC_LIST

EXAMPLES = 8  # per operation and mode: the whole module stays well under a minute
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ConsoleServer, str]]:
    root = api_project(tmp_path_factory.mktemp("api-schemathesis") / "project")
    env = {"NEWSLETTER_API_RATE_PER_MINUTE": "1000000", "NEWSLETTER_API_RATE_BURST": "100000"}
    with ConsoleServer(root, env=env) as server:
        token = make_token(server, "schemathesis", "owner")
        with api_client(server, token) as client:  # someone to find, with a consent trail
            added = client.post("/api/v1/subscribers", json={
                "email": "seed@example.org", "list": CLINIC_LIST,
                "consent": "already_consented", "reason": "seed for the schema tests"})
            assert added.status_code == 200, added.text
        yield server, token


def operations(server: ConsoleServer) -> list[APIOperation]:
    """Every operation of the served document (an unreadable one fails the test)."""
    schema = schemathesis.openapi.from_url(server.url + "/api/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid-requests", "invalid-requests"])
def test_every_operation_answers_as_its_openapi_document_says(
    served: tuple[ConsoleServer, str], mode: GenerationMode
) -> None:
    server, token = served
    found = operations(server)
    assert len(found) == 12  # every operation of /api/v1, erase included
    for operation in found:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_as_documented(case: Case) -> None:
            case.call_and_validate(base_url=server.url + "/api",
                                   headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

        try:
            answers_as_documented()
        except Exception as err:
            raise AssertionError(f"{operation.label} ({mode.value}): {err}") from err
