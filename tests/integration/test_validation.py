"""Validation before deploy (SPEC §4): safe XML, the BPMN XSD, Spiff's parse and the conventions.

The minimal diagram in ``tests/data/minimal`` is mutated as text, one fault at a time; every
error must name the element and say what to change.
"""

import json
from typing import Any

import pytest

from marshrut.engine import definitions, diagram
from marshrut.engine.errors import FieldError, InvalidInput
from tests.conftest import ROOT

MINIMAL = ROOT / "tests" / "data" / "minimal"
MINI_BPMN = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8")
MINI_FORMS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (MINIMAL / "forms" / "mini").glob("*.json")}

ACTION = '<camunda:property name="action" value="В" />'
DAYS = '<camunda:property name="days" value="1" />'
LANE_REF = "<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef>"
FLOW_2 = '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="finish" />'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '


def mutated(old: str, new: str, text: str = MINI_BPMN) -> str:
    assert text.count(old) == 1, f"the minimal diagram has no single {old!r}"
    return text.replace(old, new)


def compile_text(text: str | bytes, forms: dict[str, Any] | None = None) -> definitions.Compiled:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return definitions.compile_bundle(definitions.Bundle("mini.bpmn", data, {}, MINI_FORMS if forms is None else forms))


def errors_of(text: str | bytes, forms: dict[str, Any] | None = None) -> list[FieldError]:
    with pytest.raises(InvalidInput) as error:
        compile_text(text, forms)
    assert error.value.errors, "a refusal must say what is wrong"
    return error.value.errors


def only_error_at(errors: list[FieldError], element_id: str) -> FieldError:
    at = [e for e in errors if e.path == element_id]
    assert len(at) == 1, errors
    return at[0]


def with_gateway(condition: str) -> str:
    """The minimal diagram with an exclusive gateway after step_one whose one branch has ``condition``."""
    gateway = (
        '<bpmn:exclusiveGateway id="check" default="flow_other"><bpmn:incoming>flow_2</bpmn:incoming>'
        "<bpmn:outgoing>flow_cond</bpmn:outgoing><bpmn:outgoing>flow_other</bpmn:outgoing></bpmn:exclusiveGateway>"
        '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="check" />'
        '<bpmn:sequenceFlow id="flow_cond" sourceRef="check" targetRef="finish">'
        f'<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>'
        "</bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="flow_other" sourceRef="check" targetRef="finish" />'
    )
    text = mutated(FLOW_2, gateway)
    text = mutated("<bpmn:incoming>flow_2</bpmn:incoming>\n    </bpmn:endEvent>",
                   "<bpmn:incoming>flow_cond</bpmn:incoming><bpmn:incoming>flow_other</bpmn:incoming>\n    </bpmn:endEvent>", text)
    text = mutated(LANE_REF, LANE_REF + "<bpmn:flowNodeRef>check</bpmn:flowNodeRef>", text)
    return mutated("xmlns:bpmn=", XSI + "xmlns:bpmn=", text)


def with_script(script: str) -> str:
    """The minimal diagram with a script task between step_one and the end."""
    task = (
        '<bpmn:scriptTask id="compute" name="Обчислення" scriptFormat="python"><bpmn:incoming>flow_2</bpmn:incoming>'
        f"<bpmn:outgoing>flow_3</bpmn:outgoing><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"
        '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="compute" />'
        '<bpmn:sequenceFlow id="flow_3" sourceRef="compute" targetRef="finish" />'
    )
    text = mutated(FLOW_2, task)
    text = mutated("<bpmn:incoming>flow_2</bpmn:incoming>\n    </bpmn:endEvent>",
                   "<bpmn:incoming>flow_3</bpmn:incoming>\n    </bpmn:endEvent>", text)
    return mutated(LANE_REF, LANE_REF + "<bpmn:flowNodeRef>compute</bpmn:flowNodeRef>", text)


def with_timer(expression: str) -> str:
    """The minimal diagram with a timer catch event between step_one and the end."""
    timer = (
        '<bpmn:intermediateCatchEvent id="wait" name="Очікування"><bpmn:incoming>flow_2</bpmn:incoming>'
        "<bpmn:outgoing>flow_3</bpmn:outgoing><bpmn:timerEventDefinition id=\"wait_timer\">"
        f'<bpmn:timeDate xsi:type="bpmn:tFormalExpression">{expression}</bpmn:timeDate>'
        "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"
        '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="wait" />'
        '<bpmn:sequenceFlow id="flow_3" sourceRef="wait" targetRef="finish" />'
    )
    text = mutated(FLOW_2, timer)
    text = mutated("<bpmn:incoming>flow_2</bpmn:incoming>\n    </bpmn:endEvent>",
                   "<bpmn:incoming>flow_3</bpmn:incoming>\n    </bpmn:endEvent>", text)
    text = mutated(LANE_REF, LANE_REF + "<bpmn:flowNodeRef>wait</bpmn:flowNodeRef>", text)
    return mutated("xmlns:bpmn=", XSI + "xmlns:bpmn=", text)


# --- what passes ---------------------------------------------------------------------------

def test_every_shipped_diagram_validates_with_its_decisions_and_forms(settings):
    paths = sorted(settings.bpmn_dir.glob("*.bpmn"))
    bundles = definitions.bundles_from_paths(paths, settings.bpmn_dir, settings.forms_dir)
    keys = sorted(definitions.compile_bundle(b).key for b in bundles)
    assert keys == ["address_aid", "needs_assessment_plan", "social_services_roadmap"]


def test_the_minimal_diagram_validates_and_its_step_reads_as_the_card(settings):
    [bundle] = definitions.bundles_from_paths([MINIMAL / "mini.bpmn"], MINIMAL, MINIMAL / "forms")
    compiled = definitions.compile_bundle(bundle)
    assert compiled.key == "mini"
    assert [(s["element_id"], s["role"], s["action"], s["days"]) for s in compiled.steps] == [
        ("step_one", "programs_dept", "В", 1)
    ]


def test_a_gateway_with_a_plain_condition_and_a_harmless_script_validate():
    assert compile_text(with_gateway("done_on &gt; '2026-01-01'")).key == "mini"
    assert compile_text(with_script("total = len([1, 2]) * 2")).key == "mini"
    assert compile_text(with_timer("next_committee_meeting(today())")).key == "mini"


# --- conventions ---------------------------------------------------------------------------

@pytest.mark.parametrize("latin, cyrillic", [("B", "В"), ("Y", "У"), ("P", "П"), ("3", "З")])
def test_a_latin_action_letter_is_answered_with_the_cyrillic_one(latin, cyrillic):
    text = mutated(ACTION, f'<camunda:property name="action" value="{latin}" />')
    error = only_error_at(errors_of(text), "step_one")
    assert f"«{cyrillic}»" in error.message
    assert "латиниц" in error.message
    assert latin != cyrillic  # the letters look alike but differ


def test_a_missing_action_asks_for_one_of_the_four_codes():
    error = only_error_at(errors_of(mutated(ACTION, "")), "step_one")
    assert "action" in error.message and "В, У, П або З" in error.message


def test_a_user_task_outside_any_lane_is_refused_naming_the_task():
    error = only_error_at(errors_of(mutated(LANE_REF, "")), "step_one")
    assert "доріжк" in error.message  # move it into the lane of the responsible unit


def test_a_lane_with_an_unknown_role_is_refused_with_the_known_keys():
    lane = '<bpmn:lane id="programs_dept" name="Відділ реалізації міських соціальних програм">'
    role = ('<bpmn:extensionElements><camunda:properties><camunda:property name="role" value="janitor" />'
            "</camunda:properties></bpmn:extensionElements>")
    error = only_error_at(errors_of(mutated(lane, lane + role)), "step_one")
    assert "janitor" in error.message
    assert "programs_dept" in error.message and "role" in error.message


def test_a_lane_with_a_known_role_property_overrides_its_id():
    lane = '<bpmn:lane id="programs_dept" name="Відділ реалізації міських соціальних програм">'
    role = ('<bpmn:extensionElements><camunda:properties><camunda:property name="role" value="director" />'
            "</camunda:properties></bpmn:extensionElements>")
    assert compile_text(mutated(lane, lane + role)).steps[0]["role"] == "director"


def test_a_missing_form_file_names_the_file_to_create():
    forms = {k: v for k, v in MINI_FORMS.items() if k != "step_one"}
    error = only_error_at(errors_of(MINI_BPMN, forms), "step_one")
    assert "forms/mini/step_one.json" in error.message


def test_a_missing_start_form_names_the_file_to_create():
    forms = {k: v for k, v in MINI_FORMS.items() if k != "start"}
    error = only_error_at(errors_of(MINI_BPMN, forms), "mini")
    assert "forms/mini/start.json" in error.message


def test_a_form_that_is_not_json_schema_is_refused():
    forms = {**MINI_FORMS, "step_one": {"type": "banana"}}
    error = only_error_at(errors_of(MINI_BPMN, forms), "step_one")
    assert "forms/mini/step_one.json" in error.message and "JSON Schema" in error.message


def test_a_form_file_that_is_not_json_is_refused_when_gathered(tmp_path):
    (tmp_path / "step_one.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "mini.bpmn").write_text(MINI_BPMN, encoding="utf-8")
    with pytest.raises(InvalidInput) as error:
        definitions.bundles_from_paths([tmp_path / "mini.bpmn", tmp_path / "step_one.json"], MINIMAL, MINIMAL / "forms")
    assert error.value.errors[0].path == "step_one.json"


def test_a_step_with_neither_days_nor_a_deadline_is_refused():
    error = only_error_at(errors_of(mutated(DAYS, "")), "step_one")
    assert "days" in error.message and "deadline" in error.message


@pytest.mark.parametrize("value", ["1.5", "п'ять", "-2", "１"])
def test_days_that_are_not_a_whole_number_are_refused(value):
    error = only_error_at(errors_of(mutated(DAYS, f'<camunda:property name="days" value="{value}" />')), "step_one")
    assert "days" in error.message and "whole number" in error.message


def test_days_min_above_days_is_refused():
    limits = '<camunda:property name="days" value="2" /><camunda:property name="days_min" value="4" />'
    error = only_error_at(errors_of(mutated(DAYS, limits)), "step_one")
    assert "days_min" in error.message and "days" in error.message


def test_an_unknown_calendar_or_deadline_is_refused_with_the_choices():
    error = only_error_at(errors_of(mutated(DAYS, DAYS + '<camunda:property name="calendar" value="lunar" />')), "step_one")
    assert "working" in error.message and "calendar" in error.message
    error = only_error_at(errors_of(mutated(DAYS, '<camunda:property name="deadline" value="someday" />')), "step_one")
    assert "target" in error.message and "legal" in error.message


def test_a_participant_with_an_unknown_role_is_refused():
    text = mutated(ACTION, ACTION + '<camunda:property name="participants" value="janitor:У" />')
    error = only_error_at(errors_of(text), "step_one")
    assert "janitor" in error.message


def test_a_non_numeric_process_limit_is_refused():
    text = mutated('<camunda:property name="target_days" value="20" />', '<camunda:property name="target_days" value="двадцять" />')
    error = only_error_at(errors_of(text), "mini")
    assert "target_days" in error.message


def test_every_fault_is_reported_at_once():
    text = mutated(DAYS, "", mutated(ACTION, '<camunda:property name="action" value="B" />'))
    messages = [e.message for e in errors_of(text) if e.path == "step_one"]
    assert len(messages) == 2


# --- XML safety ----------------------------------------------------------------------------

DTD = '<!DOCTYPE bpmn:definitions>\n'
EXTERNAL = '<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
LAUGHS = ('<!DOCTYPE d [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
          '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>\n')
PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'


@pytest.mark.parametrize("doctype, name", [(DTD, "Мінімальний процес"), (EXTERNAL, "&xxe;"), (LAUGHS, "&lol4;")],
                         ids=["dtd", "external-entity", "billion-laughs"])
def test_a_dtd_or_entity_is_refused_before_the_xml_is_parsed(monkeypatch, doctype, name):
    text = MINI_BPMN.replace(PROLOG, PROLOG + doctype).replace('name="Мінімальний процес"', f'name="{name}"')
    assert doctype in text

    def no_parsing(*_args, **_kwargs):
        raise AssertionError("the XML parser was reached")

    monkeypatch.setattr(diagram.etree, "fromstring", no_parsing)
    errors = errors_of(text)
    assert errors[0].path == "mini.bpmn"
    assert "DTD" in errors[0].message


def test_a_dtd_hidden_in_utf16_is_still_refused():
    text = (PROLOG.replace("UTF-8", "UTF-16") + LAUGHS + MINI_BPMN.removeprefix(PROLOG)).replace(
        'name="Мінімальний процес"', 'name="&lol4;"')
    errors = errors_of(text.encode("utf-16"))
    # Refused before any parser sees it: only UTF-8 diagrams are read at all.
    assert errors[0].path == "mini.bpmn" and "UTF-8" in errors[0].message


def test_text_that_is_not_xml_is_refused():
    errors = errors_of("це не XML <bpmn:definitions")
    assert errors[0].path == "mini.bpmn" and "XML" in errors[0].message


def test_xml_that_is_not_bpmn_is_refused():
    errors = errors_of('<?xml version="1.0"?><html><body>Привіт</body></html>')
    assert errors[0].path == "mini.bpmn" and "bpmn:definitions" in errors[0].message


def test_bpmn_without_an_executable_process_is_refused():
    text = '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="x"/>'
    errors = errors_of(text)
    assert any("bpmn:process" in e.message for e in errors)


def test_bpmn_that_breaks_the_xsd_is_refused_at_the_element():
    text = mutated('<bpmn:userTask id="step_one" name="Перший крок">',
                   '<bpmn:userTask id="step_one" name="Перший крок" isForCompensation="maybe">')
    error = only_error_at(errors_of(text), "step_one")
    assert "BPMN 2.0" in error.message and "isForCompensation" in error.message


def test_an_unknown_bpmn_element_breaks_the_xsd():
    text = mutated(FLOW_2, FLOW_2 + "<bpmn:teleport id=\"beam\" />")
    errors = errors_of(text)
    assert any("teleport" in e.message and "BPMN 2.0" in e.message for e in errors)


# --- restricted expressions ----------------------------------------------------------------

@pytest.mark.parametrize("condition, word", [
    ("__import__('os').system('id') == 0", "__import__"),
    ("().__class__.__bases__ != None", "__class__"),
    ("done_on._private", "_private"),
])
def test_a_gateway_condition_reaching_for_dunders_is_refused(condition, word):
    error = only_error_at(errors_of(with_gateway(condition)), "flow_cond")
    assert word in error.message


@pytest.mark.parametrize("script", ["import os", "from os import system", "x = [c for c in ().__class__.__mro__]"])
def test_a_script_task_that_imports_or_digs_into_dunders_is_refused(script):
    error = only_error_at(errors_of(with_script(script)), "compute")
    assert "заборонено" in error.message


def test_a_timer_date_reaching_for_dunders_is_refused():
    error = only_error_at(errors_of(with_timer("__import__('os').getcwd()")), "wait")
    assert "__import__" in error.message


def test_a_reject_if_rule_with_an_import_is_refused():
    text = mutated(ACTION, ACTION + '<camunda:property name="reject_if" value="__import__(\'os\')" />')
    error = only_error_at(errors_of(text), "step_one")
    assert "__import__" in error.message


def test_a_condition_that_is_not_python_is_refused_as_a_syntax_error():
    error = only_error_at(errors_of(with_gateway("done_on ==")), "flow_cond")
    assert "Синтаксична" in error.message


# --- gathering files ------------------------------------------------------------------------

def test_a_path_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(InvalidInput) as error:
        definitions.bundles_from_paths([MINIMAL / "mini.bpmn", tmp_path / "nope.dmn"], MINIMAL, MINIMAL / "forms")
    assert [e.path for e in error.value.errors] == [str(tmp_path / "nope.dmn")]


def test_files_that_are_not_diagrams_are_passed_over_as_in_a_folder_glob(tmp_path):
    notes = tmp_path / "README.md"
    notes.write_text("x", encoding="utf-8")
    [bundle] = definitions.bundles_from_paths([MINIMAL / "mini.bpmn", notes], MINIMAL, MINIMAL / "forms")
    assert bundle.bpmn_name == "mini.bpmn"
    with pytest.raises(InvalidInput) as error:
        definitions.bundles_from_paths([notes], MINIMAL, MINIMAL / "forms")
    assert "немає діаграми .bpmn" in error.value.message


def test_a_given_form_wins_over_the_library_one(tmp_path):
    replacement = {**MINI_FORMS["step_one"], "title": "Новий заголовок"}
    given = tmp_path / "step_one.json"
    given.write_text(json.dumps(replacement, ensure_ascii=False), encoding="utf-8")
    [bundle] = definitions.bundles_from_paths([MINIMAL / "mini.bpmn", given], MINIMAL, MINIMAL / "forms")
    assert bundle.forms["step_one"]["title"] == "Новий заголовок"
    assert bundle.forms["start"] == MINI_FORMS["start"]

