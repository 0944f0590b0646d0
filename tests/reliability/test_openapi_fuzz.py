"""Schemathesis against the OpenAPI document (SPEC §6, §8): requests generated from the schema,
valid and invalid, to every operation, as an admin and as a member of staff: no answer is a 5xx.

The app is called in-process (WSGI) on the test database, with one address-aid case and
its ids in place so that generated paths sometimes hit something that exists.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import kyiv
from tests.walks import APPLICATION

EXAMPLES = 12  # per operation and mode: about 1,500 requests in all


def operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    assert len(found) > 20, "the OpenAPI document lists the operations"
    return found


@pytest.fixture
def a_case(http, deployed) -> dict[str, Any]:
    http.set_clock(kyiv("2026-02-02 10:00"))
    return http.as_("programs_dept").start("address_aid", APPLICATION)


@pytest.mark.parametrize("role", ["admin", "programs_dept"])
def test_no_generated_request_gets_a_server_error(app, http, a_case, role):
    server_errors: list[str] = []
    headers = {"Authorization": f"Bearer token-{role}"}
    for operation in operations(app):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case: Any) -> None:
                response = case.call()
                if response.status_code >= 500:
                    server_errors.append(f"{case.method} {case.formatted_path} {case.query} {mode.value} -> {response.status_code}: "
                                         f"{response.text[:80]}")

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in this operation to make invalid
    assert server_errors == [], "\n".join(server_errors)
