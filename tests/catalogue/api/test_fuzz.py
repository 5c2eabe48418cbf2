"""Requests generated from the OpenAPI document never make the API fail with a 500.

Each operation gets a few generated requests (valid and invalid bodies, odd path and query
values), sent in-process to the app as the test client's site admin, so writes get past
authentication into the rules behind them.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

DATASET = {"id": "air", "title": "Air", "accessRights": "public", "owner": "team:miljo"}
EXAMPLES_PER_OPERATION = 20


def test_no_generated_request_makes_the_api_fail(app, client) -> None:  # type: ignore[no-untyped-def]
    # Something to find, so generated ids sometimes reach existing resources.
    assert client.post("/datasets", json=DATASET).status_code == 201
    edition = {"edition": "20260101T000000"}
    assert client.post("/datasets/air/versions/1/editions", json=edition).status_code == 201
    headers = {"Authorization": f"Bearer {app.config['SITE_ADMIN_TOKEN']}"}
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:  # type: ignore[no-untyped-def]
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
