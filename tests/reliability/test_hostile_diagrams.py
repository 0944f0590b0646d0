"""Hostile diagrams sent to deploy and to validate (SPEC §4, §8): an external entity, an entity
expansion bomb, an XInclude, a 50 MB body and a script reaching for ``__import__`` are each
refused with a 4xx, and nothing is deployed."""

import io
from typing import Any
from xml.sax.saxutils import escape

import pytest

from marshrut.engine.models import Definition
from tests.api.conftest import count_rows
from tests.conftest import ROOT
from tests.integration.test_sandbox_validation import with_decision
from tests.integration.test_validation import with_gateway, with_timer
from tests.unit.test_sandbox import ESCAPES

SHIPPED_AID = (ROOT / "bpmn" / "address_aid.bpmn").read_bytes()
MINI = (ROOT / "tests" / "data" / "minimal" / "mini.bpmn").read_text(encoding="utf-8")
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


def with_prolog(prolog: bytes, body: bytes = SHIPPED_AID) -> bytes:
    assert body.startswith(XML_DECLARATION)
    return XML_DECLARATION + prolog + body[len(XML_DECLARATION):]


EXTERNAL_ENTITY = with_prolog(
    b'<!DOCTYPE bpmn:definitions [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
    SHIPPED_AID.replace(b'name="', b'name="&xxe;', 1),
)
BILLION_LAUGHS = with_prolog(
    b'<!DOCTYPE bpmn:definitions [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";" if i > 1 else "&lol;") * 10}">'.encode() for i in range(1, 10))
    + b"]>",
    SHIPPED_AID.replace(b'name="', b'name="&lol9;', 1),
)
PARAMETER_ENTITY = with_prolog(b'<!DOCTYPE d [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>')
XINCLUDE = SHIPPED_AID.replace(
    b"<bpmn:process ", b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" parse="text"/>'
    b"<bpmn:process ", 1)
SCRIPT = '<bpmn:scriptTask id="compute" name="Обчислення" scriptFormat="python"><bpmn:incoming>flow_2</bpmn:incoming>' \
         '<bpmn:outgoing>flow_3</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>' \
         '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="compute" />' \
         '<bpmn:sequenceFlow id="flow_3" sourceRef="compute" targetRef="finish" />'


def with_script(script: str) -> bytes:
    """The minimal test diagram with a script task between its step and its end."""
    text = MINI.replace('<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="finish" />', SCRIPT.replace("{script}", script))
    text = text.replace("<bpmn:incoming>flow_2</bpmn:incoming>\n    </bpmn:endEvent>", "<bpmn:incoming>flow_3</bpmn:incoming>\n    </bpmn:endEvent>")
    text = text.replace("<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef><bpmn:flowNodeRef>compute</bpmn:flowNodeRef>")
    assert "compute" in text and "flow_3" in text
    return text.encode()


HOSTILE = {
    "external entity": EXTERNAL_ENTITY,
    "entity expansion bomb": BILLION_LAUGHS,
    "parameter entity to the network": PARAMETER_ENTITY,
    "XInclude of a local file": XINCLUDE,
    "script calling __import__": with_script("x = __import__('os').system('touch /tmp/marshrut-pwned')"),
    "script reaching for builtins": with_script("x = [c for c in ().__class__.__base__.__subclasses__()]"),
    "script opening a file": with_script("x = open('/etc/passwd').read()"),
}


@pytest.fixture
def analyst(http, deployed):
    return http.as_("analyst")


def refused(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("label", list(HOSTILE))
@pytest.mark.parametrize("path", ["/process-definitions", "/process-definitions/validate"])
def test_a_hostile_diagram_is_refused_with_a_4xx_and_nothing_is_deployed(analyst, db, label, path):
    before = count_rows(db, Definition)
    response = analyst.client.post(f"/api/v1{path}", data=HOSTILE[label], content_type="application/xml",
                                   headers=analyst.headers())
    refused(response)
    assert response.status_code == 422
    assert count_rows(db, Definition) == before
    assert "root:" not in response.get_data(as_text=True), "the answer must not echo a local file"


@pytest.mark.parametrize("as_upload", [False, True], ids=["body", "multipart"])
def test_a_50_mb_diagram_is_refused_with_413_and_nothing_is_deployed(analyst, db, as_upload):
    before = count_rows(db, Definition)
    huge = SHIPPED_AID.replace(b"</bpmn:definitions>", b"<!--" + b"x" * (50 * 1024 * 1024) + b"--></bpmn:definitions>")
    if as_upload:  # the multipart body built here: the test client would spool it to a file it leaves open
        boundary = "marshrut-boundary"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="address_aid.bpmn"\r\n'
                f"Content-Type: application/xml\r\n\r\n").encode() + huge + f"\r\n--{boundary}--\r\n".encode()
        response = analyst.client.post("/api/v1/process-definitions", headers=analyst.headers(), data=body,
                                       content_type=f"multipart/form-data; boundary={boundary}")
    else:
        response = analyst.client.post("/api/v1/process-definitions", data=huge, content_type="application/xml",
                                       headers=analyst.headers())
    refused(response)
    assert response.status_code == 413
    assert count_rows(db, Definition) == before


def test_the_shipped_diagram_itself_still_deploys(analyst, db):
    """The control: what the hostile variants were made from is accepted (as an unchanged version)."""
    response = analyst.client.post("/api/v1/process-definitions", data=SHIPPED_AID, content_type="application/xml",
                                   headers=analyst.headers())
    assert response.status_code == 201, response.get_data(as_text=True)[:500]


# --- the sandbox (issue 11 item 1): every escape family refused at deploy with its element ----------

MINI_FORM_FILES = {p.name: p.read_bytes() for p in (ROOT / "tests" / "data" / "minimal" / "forms" / "mini").glob("*.json")}


def deploy_mini(caller: Any, bpmn: bytes, path: str = "/process-definitions", extras: dict[str, bytes] | None = None) -> Any:
    """``bpmn`` deployed through the API with the minimal diagram's forms (multipart), so that only
    the sandbox can refuse it."""
    files = {**MINI_FORM_FILES, **(extras or {})}
    data = {"file": (io.BytesIO(bpmn), "mini.bpmn"),
            "files": [(io.BytesIO(content), name) for name, content in files.items()]}
    return caller.client.post(f"/api/v1{path}", data=data, content_type="multipart/form-data", headers=caller.headers())


def script_diagram(script: str) -> bytes:
    return with_script(escape(script))


def test_the_minimal_diagram_with_a_harmless_script_deploys_through_the_api(analyst):
    response = deploy_mini(analyst, script_diagram("total = len(surname) * 2"))
    assert response.status_code == 201, response.get_data(as_text=True)[:500]


@pytest.mark.parametrize("label", list(ESCAPES))
def test_a_sandbox_escape_in_a_script_is_refused_at_deploy_with_the_element_id(analyst, db, label):
    before = count_rows(db, Definition)
    response = deploy_mini(analyst, script_diagram(ESCAPES[label]))
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert [e["path"] for e in response.json["errors"]] == ["compute"], response.json["errors"]
    assert "заборонено" in response.json["errors"][0]["message"]
    assert count_rows(db, Definition) == before


@pytest.mark.parametrize(("make", "element_id"), [
    (lambda: with_gateway("().__class__ != None"), "flow_cond"),
    (lambda: with_gateway("'{0.__class__}'.format(1) != ''"), "flow_cond"),
    (lambda: with_timer("getattr(today(), 'upper')"), "wait"),
    (lambda: with_gateway("type(surname) != None"), "flow_cond"),
], ids=["condition dunder", "condition format walk", "timer getattr", "condition type()"])
def test_a_sandbox_escape_in_a_condition_or_a_timer_is_refused_at_deploy_with_the_element_id(analyst, make, element_id):
    response = deploy_mini(analyst, make().encode())
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert [e["path"] for e in response.json["errors"]] == [element_id], response.json["errors"]


@pytest.mark.parametrize(("cell", "hint"), [("true", "пишіть True"), ("[1..5]", "діапазон FEEL"),
                                            ("().__class__", "заборонено"), ("x.format(1)", "format")])
def test_a_camunda_style_or_unsafe_decision_cell_is_refused_at_deploy_with_the_cell_id(analyst, db, cell, hint):
    before = count_rows(db, Definition)
    text, dmn = with_decision([escape(cell)])
    response = deploy_mini(analyst, text.encode(), extras={"mini.dmn": dmn})
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    assert [e["path"] for e in response.json["errors"]] == ["cell_1"], response.json["errors"]
    assert hint in response.json["errors"][0]["message"]
    assert count_rows(db, Definition) == before


def test_a_decision_written_in_python_deploys_through_the_api(analyst):
    text, dmn = with_decision(['&gt;= "2026-01-01"', "-"])
    response = deploy_mini(analyst, text.encode(), extras={"mini.dmn": dmn})
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
