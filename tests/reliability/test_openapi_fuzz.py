"""Schemathesis against the OpenAPI document (SPEC §6, §8): requests generated from the schema,
valid and invalid, to every operation, as an admin and as a member of staff: no answer is a 5xx,
and every answer conforms to the document (its status code, content type, headers and schema).

The app is called in-process (WSGI) on the test database, with one address-aid case and
its ids in place so that generated paths sometimes hit something that exists.
"""

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_headers_conformance, response_schema_conformance, status_code_conformance,
)

from tests.conftest import kyiv
from tests.walks import APPLICATION

EXAMPLES = 12  # per operation and mode: about 1,500 requests in all
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


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
def test_no_generated_request_gets_a_server_error_or_an_answer_the_document_does_not_describe(app, http, a_case, role):
    server_errors: list[str] = []
    headers = {"Authorization": f"Bearer token-{role}"}
    for operation in operations(app):
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode, headers=headers)

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def call(case: Any) -> None:
                case.validate_response(case.call(), checks=CHECKS, headers=headers)

            try:
                call()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing in this operation to make invalid
            except Exception as failure:  # noqa: BLE001 - schemathesis raises a group of failures
                server_errors.append(f"{operation.method.upper()} {operation.path} {mode.value}: {str(failure)[:600]}")
    assert server_errors == [], "\n".join(server_errors)
