"""Deploy-time checks by the sandbox (issue 11 item 1, issue 18 item 3): names outside what the
process knows and decision cells written the Camunda/FEEL way are refused with the element id;
what Spiff can evaluate passes."""

import pytest

from marshrut.engine import definitions
from tests.integration.test_validation import (
    ACTION, MINI_BPMN, MINI_FORMS, compile_text, errors_of, mutated, only_error_at, with_gateway, with_script, with_timer,
)

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"


# --- names ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("script", [
    "total = len(done_on) + 1",                          # a form field of the process
    "day = received_date\nlater = day",                  # an engine variable, then the script's own
    "parts = [p for p in done_on.split('-')]",           # a comprehension's own name
    "n = 0\nfor c in done_on:\n    n += 1",              # a loop's own name
    "when = next_committee_meeting(today())",            # helpers
])
def test_scripts_over_known_names_validate(script):
    assert compile_text(with_script(script)).key == "mini"


@pytest.mark.parametrize(("script", "name"), [
    ("x = unknown_thing + 1", "unknown_thing"),
    ("x = y\ny = 1", "y"),                                # read before the script assigns it
    ("n += 1", "n"),
])
def test_a_script_reading_an_unknown_name_is_refused_with_its_element(script, name):
    error = only_error_at(errors_of(with_script(script)), "compute")
    assert f"Невідоме ім'я «{name}»" in error.message


@pytest.mark.parametrize(("script", "callee"), [("x = type(done_on)", "type"), ("x = getattr(done_on, 'upper')", "getattr"),
                                                 ("x = eval('1')", "eval"), ("x = exec('1')", "exec")])
def test_calling_anything_but_an_allowed_function_is_refused_with_its_element(script, callee):
    error = only_error_at(errors_of(with_script(script)), "compute")
    assert f"виклик «{callee}»" in error.message


def test_a_condition_over_an_unknown_field_is_refused():
    error = only_error_at(errors_of(with_gateway("decison == 'так'")), "flow_cond")
    assert "«decison»" in error.message


def test_a_timer_over_an_unknown_name_is_refused_but_engine_dates_are_known():
    assert compile_text(with_timer("target_due")).key == "mini"
    error = only_error_at(errors_of(with_timer("target_date")), "wait")
    assert "«target_date»" in error.message


@pytest.mark.parametrize(("condition", "python"), [("done_on != null", "None"), ("true", "True")])
def test_camunda_literals_in_a_condition_are_answered_with_the_python_to_write(condition, python):
    error = only_error_at(errors_of(with_gateway(condition)), "flow_cond")
    assert f"пишіть {python}" in error.message


def with_rule(text: str, rule: str) -> str:
    """``text`` with a ``reject_if`` rule on step_one (checked against every name the process knows)."""
    return mutated(ACTION, ACTION + f'<camunda:property name="reject_if" value="{rule}" />', text)


def test_a_name_a_script_of_the_process_assigns_is_known_elsewhere_in_the_process():
    assert compile_text(with_rule(with_script("verdict = 'так'"), "verdict == 'ні'")).key == "mini"
    error = only_error_at(errors_of(with_rule(MINI_BPMN, "verdict == 'ні'")), "step_one")
    assert "«verdict»" in error.message


# --- decision tables -----------------------------------------------------------------------------

def with_decision(cells: list[str], output: str = '"так"', input_expression: str = "done_on") -> tuple[str, bytes]:
    """The minimal diagram with a business-rule task after step_one and a one-input table."""
    task = ('<bpmn:businessRuleTask id="decide" name="Рішення" camunda:decisionRef="mini_decision">'
            "<bpmn:incoming>flow_2</bpmn:incoming><bpmn:outgoing>flow_3</bpmn:outgoing></bpmn:businessRuleTask>"
            '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="decide" />'
            '<bpmn:sequenceFlow id="flow_3" sourceRef="decide" targetRef="finish" />')
    text = mutated('<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="finish" />', task)
    text = mutated("<bpmn:incoming>flow_2</bpmn:incoming>\n    </bpmn:endEvent>",
                   "<bpmn:incoming>flow_3</bpmn:incoming>\n    </bpmn:endEvent>", text)
    text = mutated("<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef>",
                   "<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef><bpmn:flowNodeRef>decide</bpmn:flowNodeRef>", text)
    rules = "".join(
        f'<rule id="rule_{i}"><inputEntry id="cell_{i}"><text>{cell}</text></inputEntry>'
        f'<outputEntry id="out_{i}"><text>{output}</text></outputEntry></rule>'
        for i, cell in enumerate(cells, start=1))
    dmn = (f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="{DMN_NS}" id="mini_dmn" name="Рішення" '
           'namespace="https://zt-rada.gov.ua/marshrut/dmn"><decision id="mini_decision" name="Рішення">'
           '<decisionTable id="mini_table" hitPolicy="FIRST"><input id="mini_input" label="Дата">'
           f'<inputExpression id="mini_input_expression" typeRef="string"><text>{input_expression}</text></inputExpression>'
           '</input><output id="mini_output" label="Висновок" name="verdict" typeRef="string"/>'
           f"{rules}</decisionTable></decision></definitions>")
    return text, dmn.encode()


def decision_errors(cells: list[str], **kwargs: str):
    text, dmn = with_decision(cells, **kwargs)
    bundle = definitions.Bundle("mini.bpmn", text.encode(), {"mini.dmn": dmn}, MINI_FORMS)
    try:
        definitions.compile_bundle(bundle)
    except definitions.InvalidInput as error:
        return error.errors
    return []


@pytest.mark.parametrize("cell", ['"2026-01-01"', '&gt;= "2026-01-01"', "-", "", "? &gt; '2026' and ? &lt; '2027'",
                                  "!= None", "True"])
def test_decision_cells_spiff_evaluates_validate(cell):
    assert decision_errors([cell]) == []


@pytest.mark.parametrize(("cell", "hint"), [
    ("true", "пишіть True"), ("false", "пишіть False"), ("null", "пишіть None"), ("!= null", "пишіть None"),
    ("[1..5]", "1 &lt;= ? &lt;= 5".replace("&lt;", "<")), ("]1..5[", "діапазон FEEL"),
    ('"a","b"', "? in"), ('not("a")', "? !="), ("== = 1", "не є виразом"),
    ("__import__('os')", "заборонено"), ("done_on.__class__", "заборонено"), ("unknown_name", "Невідоме ім'я"),
])
def test_camunda_style_and_unsafe_cells_are_refused_at_deploy_with_the_cell_id(cell, hint):
    errors = decision_errors([cell])
    assert [e.path for e in errors] == ["cell_1"], errors
    assert hint in errors[0].message and "mini.dmn, рядок 1" in errors[0].message


def test_an_output_entry_and_an_input_expression_are_checked_too():
    [error] = decision_errors(["-"], output="true")
    assert (error.path, "пишіть True" in error.message) == ("out_1", True)
    [error] = decision_errors(["-"], input_expression="type(done_on)")
    assert error.path == "mini_input_expression" and "виклик «type»" in error.message


def test_the_decisions_output_is_a_known_name_for_the_process():
    text, dmn = with_decision(["-"])
    bundle = definitions.Bundle("mini.bpmn", with_rule(text, "verdict == 'ні'").encode(), {"mini.dmn": dmn}, MINI_FORMS)
    assert definitions.compile_bundle(bundle).key == "mini"


def test_a_table_the_process_does_not_use_is_not_its_concern():
    _, dmn = with_decision(["true"])
    bundle = definitions.Bundle("mini.bpmn", MINI_BPMN.encode(), {"other.dmn": dmn}, MINI_FORMS)
    assert definitions.compile_bundle(bundle).key == "mini"
