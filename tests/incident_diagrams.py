"""Diagrams whose automatic work fails after a person's step, for the incident and migration tests.

``mini`` (tests/data/minimal) with an automatic element between its step and a second step:
``step_one`` → ``compute`` (a script, or a decision table) → ``step_two`` → end.
"""

import json

from marshrut.engine import definitions
from tests.conftest import ROOT

MINIMAL = ROOT / "tests" / "data" / "minimal"
#: Automatic work that passes every deploy check and still fails when it runs: the date the first
#: step recorded is no whole number (ValueError). What the checks can see is wrong never deploys.
FAILING_SCRIPT = "x = int(done_on)"
FAILING_CELL = "int(done_on) &gt; 0"
#: What the incident's message says of that failure (``invalid literal for int()``).
FAILURE_TEXT = "int()"
V1 = (MINIMAL / "mini.bpmn").read_text(encoding="utf-8")
FORMS = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (MINIMAL / "forms" / "mini").glob("*.json")}
STEP_TWO_FORM = {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Другий крок", "type": "object",
    "properties": {"checked": {"type": "boolean", "title": "Перевірено"}}, "required": ["checked"],
    "additionalProperties": False,
}
ALL_FORMS = {**FORMS, "step_two": STEP_TWO_FORM}

_STEP_TWO = """<bpmn:userTask id="step_two" name="Другий крок">
      <bpmn:extensionElements>
        <camunda:properties>
          <camunda:property name="action" value="В" />
          <camunda:property name="days" value="3" />
        </camunda:properties>
      </bpmn:extensionElements>
      <bpmn:incoming>flow_3</bpmn:incoming>
      <bpmn:outgoing>flow_4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="finish" name="Кінець">
      <bpmn:incoming>flow_4</bpmn:incoming>
    </bpmn:endEvent>"""

SCRIPT = """<bpmn:scriptTask id="compute" name="Розрахунок" scriptFormat="python">
      <bpmn:incoming>flow_2</bpmn:incoming>
      <bpmn:outgoing>flow_3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>"""

DECISION = """<bpmn:businessRuleTask id="compute" name="Розрахунок" camunda:decisionRef="mini_decision">
      <bpmn:incoming>flow_2</bpmn:incoming>
      <bpmn:outgoing>flow_3</bpmn:outgoing>
    </bpmn:businessRuleTask>"""

DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="mini_decision_definitions" name="Рішення" namespace="https://zt-rada.gov.ua/marshrut/dmn">
  <decision id="mini_decision" name="Рішення">
    <decisionTable id="mini_decision_table" hitPolicy="FIRST">
      <input id="mini_input" label="Дата">
        <inputExpression id="mini_input_expression" typeRef="string"><text>done_on</text></inputExpression>
      </input>
      <output id="mini_output" label="Результат" name="eligible" typeRef="boolean"/>
      <rule id="mini_rule_1">
        <inputEntry id="mini_rule_1_in"><text>-</text></inputEntry>
        <outputEntry id="mini_rule_1_out"><text>{cell}</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


def diagram(element: str) -> str:
    """The minimal process with ``element`` (id ``compute``) and a second step after its first step."""
    text = V1.replace("""<bpmn:endEvent id="finish" name="Кінець">
      <bpmn:incoming>flow_2</bpmn:incoming>
    </bpmn:endEvent>""", element + "\n    " + _STEP_TWO)
    text = text.replace('<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="finish" />',
                        '<bpmn:sequenceFlow id="flow_2" sourceRef="step_one" targetRef="compute" />'
                        '<bpmn:sequenceFlow id="flow_3" sourceRef="compute" targetRef="step_two" />'
                        '<bpmn:sequenceFlow id="flow_4" sourceRef="step_two" targetRef="finish" />')
    text = text.replace("<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>step_one</bpmn:flowNodeRef><bpmn:flowNodeRef>compute</bpmn:flowNodeRef>"
                        "<bpmn:flowNodeRef>step_two</bpmn:flowNodeRef>")
    shapes = "".join(
        f'<bpmndi:BPMNShape id="{element}_di" bpmnElement="{element}"><dc:Bounds x="{x}" y="210" width="100" height="80" />'
        "</bpmndi:BPMNShape>" for element, x in (("compute", 290), ("step_two", 430), ("wait", 570)))
    text = text.replace("</bpmndi:BPMNPlane>", shapes + "</bpmndi:BPMNPlane>")
    assert text.count("compute") >= 4
    return text


TIMER_THEN = """<bpmn:intermediateCatchEvent id="wait" name="Очікування">
      <bpmn:incoming>flow_2</bpmn:incoming>
      <bpmn:outgoing>flow_w</bpmn:outgoing>
      <bpmn:timerEventDefinition id="wait_timer">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">"{moment}"</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:scriptTask id="compute" name="Розрахунок" scriptFormat="python">
      <bpmn:incoming>flow_w</bpmn:incoming>
      <bpmn:outgoing>flow_3</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>"""


def with_timer_then_script(moment: str, script: str) -> definitions.Bundle:
    """After ``step_one`` a timer waits for ``moment`` (ISO 8601), then ``compute`` runs ``script``."""
    text = diagram(TIMER_THEN.format(moment=moment, script=script))
    text = text.replace('sourceRef="step_one" targetRef="compute"', 'sourceRef="step_one" targetRef="wait"')
    text = text.replace('<bpmn:sequenceFlow id="flow_3"',
                        '<bpmn:sequenceFlow id="flow_w" sourceRef="wait" targetRef="compute" /><bpmn:sequenceFlow id="flow_3"')
    text = text.replace("<bpmn:flowNodeRef>compute</bpmn:flowNodeRef>",
                        "<bpmn:flowNodeRef>wait</bpmn:flowNodeRef><bpmn:flowNodeRef>compute</bpmn:flowNodeRef>")
    if "xmlns:xsi" not in text:
        text = text.replace("<bpmn:definitions ", '<bpmn:definitions xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ', 1)
    return definitions.Bundle("mini.bpmn", text.encode(), {}, ALL_FORMS)


def with_script(script: str) -> definitions.Bundle:
    """``compute`` is a script task running ``script``."""
    return definitions.Bundle("mini.bpmn", diagram(SCRIPT.format(script=script)).encode(), {}, ALL_FORMS)


def with_decision(cell: str) -> definitions.Bundle:
    """``compute`` is a decision table whose one output cell is ``cell``."""
    dmn = {"mini_decision.dmn": DMN.format(cell=cell).encode()}
    return definitions.Bundle("mini.bpmn", diagram(DECISION).encode(), dmn, ALL_FORMS)


def without_compute() -> definitions.Bundle:
    """The version whose first step leads straight to the end (no ``compute``, no ``step_two``)."""
    return definitions.Bundle("mini.bpmn", V1.encode(), {}, FORMS)
