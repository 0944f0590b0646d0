"""A client generated from the service's OpenAPI document walks the first steps of a case.

``openapi-python-client`` builds a package from ``/api/v1/openapi.json`` as served by a real
``marshrut serve``; the test imports it and talks to that server only through its typed
functions (named by the document's operationIds). If the document lies about a body or an
answer, generating, importing or parsing fails here.
"""

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from marshrut.engine.config import PROJECT_ROOT
from tests.api.test_serve_smoke import MARSHRUT, Server, server  # noqa: F401  (the fixture: a real ``marshrut serve``)
from tests.conftest import BACKEND
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="the document does not depend on the database; "
                                                           "one pass (SQLite) is enough for a slow test")

GENERATOR = str(Path(sys.executable).parent / "openapi-python-client")
PACKAGE = "marshrut_generated_client"
#: No formatting hooks: nobody reads the generated code here.
CONFIG = {"package_name_override": PACKAGE, "post_hooks": []}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: What openapi-python-client 0.29 says of a correct document: it reads no ``application/xml`` body (deploy and
#: validate are generated with their multipart variant only) and omits the answers of the XML, DOCX and XLSX
#: downloads (docs/api-client.md). Any other warning is an operation or a body it could not read.
KNOWN_WARNINGS = {"Unsupported content type application/xml": 2, "Unsupported content_type application/xml)": 1,
                  f"Unsupported content_type {DOCX})": 1,
                  f"Unsupported content_type {DOCX}, {XLSX})": 1}


@pytest.fixture
def generated(server: Server, settings, tmp_path: Path) -> Iterator[ModuleType]:  # noqa: F811
    """The package generated from the running server's document, importable as :data:`PACKAGE`.

    An analyst (who may validate diagrams) is created meanwhile, as the server's other users were.
    """
    analyst = subprocess.Popen([MARSHRUT, "users", "create", "analyst", "--role", "analyst", "--token", "token-analyst"],
                               env={**os.environ, "MARSHRUT_DATABASE_URL": settings.database_url}, cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    document = requests.get(f"{server.base}/api/v1/openapi.json", timeout=30)
    assert document.status_code == 200, document.text[:500]
    (tmp_path / "openapi.json").write_text(json.dumps(document.json(), ensure_ascii=False), encoding="utf-8")
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    built = subprocess.run([GENERATOR, "generate", "--path", str(tmp_path / "openapi.json"), "--meta", "none",
                            "--config", str(tmp_path / "config.json"), "--output-path", str(tmp_path / PACKAGE)],
                           capture_output=True, text=True, timeout=120, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    said = built.stdout + built.stderr
    assert {known: said.count(known) for known in KNOWN_WARNINGS} == KNOWN_WARNINGS, said
    assert said.count("WARNING") == sum(KNOWN_WARNINGS.values()), said
    _, failed = analyst.communicate(timeout=60)
    assert analyst.returncode == 0, failed
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def operation(tag: str, operation_id: str) -> Any:
    """The generated module of one operation (``<package>.api.<tag>.<operation_id>``)."""
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation_id}")


def test_a_generated_client_lists_starts_completes_and_reads_a_case_and_gets_typed_problems(server, generated, settings):  # noqa: F811
    models = importlib.import_module(f"{PACKAGE}.models")
    admin, clerk, analyst = (generated.AuthenticatedClient(base_url=server.base, token=f"token-{role}",
                                                           raise_on_unexpected_status=True)
                             for role in ("admin", "programs_dept", "analyst"))
    anonymous = generated.Client(base_url=server.base, raise_on_unexpected_status=True)
    with admin, clerk, analyst, anonymous:  # each closes its connection pool
        walk(models, admin, clerk, analyst, anonymous, settings.bpmn_dir / "address_aid.bpmn")


def walk(models: ModuleType, admin: Any, clerk: Any, analyst: Any, anonymous: Any, diagram: Path) -> None:
    """The conversation, through the generated package's typed functions only."""
    File = importlib.import_module(f"{PACKAGE}.types").File  # the generated class
    health = operation("health", "get_health").sync(client=anonymous)  # ``security: []``: no token needed
    assert isinstance(health, models.Health) and health.status == "ok"
    refused = operation("tasks", "list_tasks").sync_detailed(client=anonymous)
    assert refused.status_code == 401 and isinstance(refused.parsed, models.Problem) and refused.parsed.status == 401

    definitions = operation("definitions", "list_process_definitions").sync(client=clerk)
    assert {d.key for d in definitions} == {"address_aid", "social_services_roadmap", "needs_assessment_plan"}

    address_aid = operation("definitions", "get_process_definition").sync(client=clerk, key="address_aid")
    assert isinstance(address_aid, models.Definition), address_aid
    assert "reason" in address_aid.start_form.to_dict()["properties"]  # a client can know the start data
    with diagram.open("rb") as payload:
        checked = operation("definitions", "validate_process_definition").sync(client=analyst, body=(
            models.ValidateProcessDefinitionFilesBody(file=File(payload=payload, file_name=diagram.name))))
    assert isinstance(checked, models.ValidationResult) and checked.valid and checked.key == "address_aid"
    with diagram.open("rb") as payload:  # its decision tables and forms are the shipped ones: nothing new
        deployed = operation("definitions", "deploy_process_definition").sync(client=analyst, body=(
            models.DeployProcessDefinitionFilesBody(file=File(payload=payload, file_name=diagram.name))))
    assert isinstance(deployed, models.Deployed), deployed
    assert (deployed.key, deployed.version, deployed.created) == ("address_aid", 1, False)

    clock = operation("admin", "set_clock").sync(client=admin,
                                                 body=models.Clock.from_dict({"now": "2026-02-02T10:00:00+02:00"}))
    assert isinstance(clock, models.Clock) and clock.now.isoformat() == "2026-02-02T10:00:00+02:00"

    case = operation("instances", "start_process_instance").sync(client=clerk, body=models.StartInstance(
        process_key="address_aid", data=models.StartInstanceData.from_dict(APPLICATION)))
    assert isinstance(case, models.Instance), case
    assert case.number == "АД-2026-000001"

    for element_id in ("accept_documents", "form_personal_file"):
        page = operation("tasks", "list_tasks").sync(client=clerk, instance_id=case.id)
        assert isinstance(page, models.TaskPage), page
        [task] = page.items
        assert task.element_id == element_id
        opened = operation("tasks", "get_task").sync(client=clerk, task_id=task.id)
        assert isinstance(opened, models.Task) and opened.form.to_dict()["type"] == "object"
        claimed = operation("tasks", "claim_task").sync(client=clerk, task_id=task.id)
        assert isinstance(claimed, models.Task) and claimed.assignee == "programs_dept"
        complete = models.Complete(data=models.CompleteData.from_dict(ADDRESS_AID_STEPS[element_id]))
        done = operation("tasks", "complete_task").sync(client=clerk, task_id=task.id, body=complete)
        assert isinstance(done, models.Completed), done
        assert done.task.state == "completed"

        again = operation("tasks", "complete_task").sync_detailed(client=clerk, task_id=task.id, body=complete)
        assert again.status_code == 409
        assert isinstance(again.parsed, models.Problem) and again.parsed.status == 409

    read = operation("instances", "get_process_instance").sync(client=clerk, instance_id=case.id)
    assert isinstance(read, models.Instance) and read.id == case.id and read.number == case.number

    history = operation("instances", "get_process_instance_history").sync(client=clerk, instance_id=case.id)
    assert isinstance(history, models.History), history
    assert [e.event for e in history.items if e.event == "task_completed"] == ["task_completed", "task_completed"]

    # Answers that had no schema in the document: the generated functions returned None for them.
    summary = operation("sla", "get_sla_summary").sync(client=admin)
    assert isinstance(summary, models.SlaSummary), summary
    assert ("address_aid", "register_application") in {(s.process_key, s.element_id) for s in summary.steps}
    durations = operation("sla", "get_step_durations").sync(client=admin, process_key="address_aid")
    assert isinstance(durations, models.StepDurations), durations
    assert {"accept_documents", "form_personal_file"} <= {s.element_id for s in durations.items}
    contacts = operation("reference", "get_contacts").sync(client=anonymous)  # public: no token
    assert isinstance(contacts, models.Contacts), contacts
    assert contacts.hotline["number"] == "0500226967"

    without_reason = {k: v for k, v in APPLICATION.items() if k != "reason"}
    refused = operation("instances", "start_process_instance").sync_detailed(client=clerk, body=models.StartInstance(
        process_key="address_aid", data=models.StartInstanceData.from_dict(without_reason)))
    assert refused.status_code == 422
    assert isinstance(refused.parsed, models.Problem) and refused.parsed.status == 422
    assert [error.path for error in refused.parsed.errors] == ["/reason"]
