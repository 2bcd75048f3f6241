"""Schemathesis walks every operation of the OpenAPI document: no input gets a 5xx, and
every answer (success or refusal) is documented and comes in the documented shape."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

API_KEY = "test-api-key-0123456789abcdef"  # as in conftest.py

MAX_EXAMPLES = 6


def test_no_operation_answers_5xx(api) -> None:
    doc = api.keyed().get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(doc)
    failures: list[str] = []
    calls: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:
            response = case.call(base_url=api.url, headers={"X-API-Key": API_KEY})
            calls.append(f"{case.method} {case.formatted_path} {response.status_code}")
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )
            else:
                # Every answer, success or refusal, is documented and in the documented shape.
                try:
                    case.validate_response(
                        response, checks=[response_schema_conformance, status_code_conformance]
                    )
                except Exception as exc:
                    failures.append(f"{case.method} {case.formatted_path}: {exc}"[:400])

        call()
    assert operations >= 25
    assert len(calls) >= operations * 2
    assert failures == []
