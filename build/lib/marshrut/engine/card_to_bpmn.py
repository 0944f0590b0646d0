"""A technological card (:mod:`engine.tech_card`) as a BPMN diagram with its forms.

One user task per stage in the card's order, one lane per responsible unit, the action code,
the term as ``days``/``days_min`` (or ``deadline`` where the term is the card's whole norm),
a wait for the executive committee's meeting before a "1 та 3 середа місяця" stage, the
totals as process properties, a minimal form per step and a start form, and the diagram
laid out (DI) so it opens in Camunda Modeler and bpmn-js.

Units whose name matches a role of :data:`engine.roles.ROLES` get that role; any other unit
gets a new role key made from its name (declared on its lane with ``new_role``), and the
answer's warnings list them.
"""

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from marshrut.engine import definitions, tech_card
from marshrut.engine.diagram import NS
from marshrut.engine.errors import FieldError, InvalidInput
from marshrut.engine.roles import APPROVES, CONFIRMS, EXECUTES, PARTICIPATES, ROLES
from marshrut.engine.tech_card import Card, CardRow, clean, fix_lookalikes

XSI = "http://www.w3.org/2001/XMLSchema-instance"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NSMAP = {"bpmn": NS["bpmn"], "bpmndi": NS["bpmndi"], "dc": DC, "di": DI, "camunda": NS["camunda"], "xsi": XSI}
COMMITTEE_TIMER = "next_committee_meeting(today())"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,59}$")

#: Roles a card's unit is never matched to (they are not units of a card).
_NOT_UNITS = {"analyst", "admin", "manager"}
_TRANSLIT = dict(zip(
    "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    ["a", "b", "v", "h", "g", "d", "e", "ie", "zh", "z", "y", "i", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
     "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "iu", "ia"],
))
_STOP_WORDS = {"та", "і", "й", "з", "із", "зі", "в", "у", "на", "до", "для", "по", "про", "від", "житомирської",
               "міської", "ради", "міста", "житомира", "питань"}


@dataclass
class Generated:
    bpmn: str
    forms: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    new_roles: dict[str, str] = field(default_factory=dict)


def transliterate(text: str) -> str:
    """Ukrainian → Latin (the national system, simplified): "Сектор субсидій" → "sektor subsydii"."""
    return "".join(_TRANSLIT.get(ch, ch) for ch in text.lower().replace("’", "").replace("'", ""))


def slug(text: str, words: int, limit: int) -> str:
    """A snake_case key of the first significant ``words`` words of ``text``."""
    tokens = [t for t in re.findall(r"[^\W_]+", fix_lookalikes(clean(text)).lower()) if t not in _STOP_WORDS]
    parts = [re.sub(r"[^a-z0-9]", "", transliterate(t)) for t in tokens if len(t) > 2 or t.isdigit()]
    key = "_".join(p for p in parts[:words] if p)
    return key[:limit].rstrip("_")


def _normal(name: str) -> str:
    text = fix_lookalikes(clean(name)).lower().replace("’", "'")
    text = re.sub(r"\b(житомирської\s+)?міської\s+ради\b", "", text)
    return re.sub(r"\s+", " ", text).strip(" ,.")


def match_role(unit: str) -> str | None:
    """The role of :data:`ROLES` whose name is this unit's (tolerating typos and truncation)."""
    wanted = _normal(unit)
    best, best_score = None, 0.0
    for role, name in ROLES.items():
        if role in _NOT_UNITS:
            continue
        known = _normal(name)
        shorter = min(wanted, known, key=len)
        if wanted == known:
            score = 1.0
        elif (wanted.startswith(known) or known.startswith(wanted)) and len(shorter.split()) >= 3:
            score = 0.95
        else:
            score = difflib.SequenceMatcher(None, wanted, known).ratio()
        if score > best_score:
            best, best_score = role, score
    return best if best_score >= 0.85 else None


class _Roles:
    """Units → role keys, lanes in order of first appearance."""

    def __init__(self) -> None:
        self.lane_names: dict[str, str] = {}
        self.new: dict[str, str] = {}

    def role_of(self, unit: str) -> str:
        role = match_role(unit)
        if role is None:
            base = slug(unit, 4, 40) or "unit"
            role = base if base not in ROLES else f"{base}_unit"
            if role not in self.new:
                self.new[role] = clean(unit)
        self.lane_names.setdefault(role, clean(unit))
        return role


def _performer(units: list[tuple[str, str]]) -> int:
    """Who completes the task: the В unit, else the П/З one, else the first (SPEC §3.1)."""
    for wanted in ((EXECUTES,), (APPROVES, CONFIRMS), (PARTICIPATES,)):
        for index, (_unit, action) in enumerate(units):
            if action in wanted:
                return index
    return 0


@dataclass
class _Step:
    id: str
    row: CardRow
    role: str
    action: str
    participants: list[tuple[str, str]]
    props: dict[str, str]
    timer_id: str | None = None


def generate(card: Card, key: str, name: str | None = None) -> Generated:
    """The diagram and forms for ``card``, as process ``key``.

    :raise ValueError: ``key`` is not a lowercase snake_case identifier.
    """
    if not KEY_PATTERN.match(key):
        raise ValueError("process key must be lowercase latin letters, digits and _ (starting with a letter)")
    name = clean(name or "")[:200] or _service_name(card)
    roles = _Roles()
    warnings = list(card.warnings)
    steps: list[_Step] = []
    used: set[str] = set()
    for index, row in enumerate(card.rows, start=1):
        pairs = [(roles.role_of(unit), action) for unit, action in row.units]
        lead = _performer(row.units)
        role, action = pairs[lead]
        others = [p for i, p in enumerate(pairs) if i != lead and p[0] != role]
        step_id = _unique(f"s{index:02d}_{slug(row.stage, 3, 36)}".rstrip("_"), used)
        steps.append(_Step(step_id, row, role, action, others, _limit(row, card, warnings, index),
                           f"wait_committee_{index:02d}" if row.committee else None))
    for role, unit in roles.new.items():
        warnings.append(f"Підрозділ «{unit}» не відповідає жодній відомій ролі: створено нову роль «{role}» "
                        f"(призначте її користувачам або замініть у доріжці на наявну)")
    if card.target_days is None:
        warnings.append("У картці не знайдено загальної кількості днів надання послуги (норма)")
    if card.legal_days is None:
        warnings.append("У картці не знайдено кількості днів, передбаченої законодавством")
    xml = _diagram(key, name, card, steps, roles)
    forms = {"start": start_form(name)} | {s.id: step_form(s.row.stage, s.action) for s in steps}
    return Generated(xml, forms, warnings, dict(roles.new))


def _service_name(card: Card) -> str:
    title = clean(card.title)
    return (title[:1].upper() + title[1:])[:200] if title else "Адміністративна послуга"


def _unique(base: str, used: set[str]) -> str:
    candidate, n = base, 2
    while candidate in used:
        candidate, n = f"{base}_{n}", n + 1
    used.add(candidate)
    return candidate


def _limit(row: CardRow, card: Card, warnings: list[str], index: int) -> dict[str, str]:
    """``days``/``days_min``, or ``deadline`` for a "within N days" row where N is the card's norm or legal total."""
    props: dict[str, str] = {}
    whole = row.days_min is None and not row.committee and row.days is not None and row.days > 1
    if whole and row.days == card.target_days:
        props["deadline"] = "target"
    elif whole and row.days == card.legal_days:
        props["deadline"] = "legal"
    else:
        props["days"] = str(row.days)
        if row.days_min is not None:
            props["days_min"] = str(row.days_min)
        if row.calendar_days:
            props["calendar"] = "calendar"
    if row.days is not None and card.target_days is not None and row.days > card.target_days:
        warnings.append(f"Етап {index}: строк {row.days} днів більший за загальну норму картки ({card.target_days})")
    return props


def _el(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    prefix, local = tag.split(":")
    element = etree.SubElement(parent, f"{{{NSMAP[prefix]}}}{local}")
    for attr, value in attrs.items():
        element.set(attr, value)
    return element


def _properties(parent: etree._Element, values: dict[str, str]) -> None:
    container = _el(_el(parent, "bpmn:extensionElements"), "camunda:properties")
    for prop, value in values.items():
        _el(container, "camunda:property", name=prop, value=value)


def _diagram(key: str, name: str, card: Card, steps: list[_Step], roles: _Roles) -> str:
    root = etree.Element(f"{{{NS['bpmn']}}}definitions", nsmap=NSMAP)
    root.set("id", f"{key}_definitions")
    root.set("targetNamespace", "https://zt-rada.gov.ua/marshrut/bpmn")
    root.set("exporter", "Marshrut: імпорт технологічної картки")
    root.set("exporterVersion", "1.0")
    collaboration = _el(root, "bpmn:collaboration", id=f"{key}_collaboration")
    _el(collaboration, "bpmn:participant", id=f"{key}_participant", name=name, processRef=key)
    process = _el(root, "bpmn:process", id=key, name=name, isExecutable="true")
    _el(process, "bpmn:documentation").text = f"Створено з технологічної картки: {clean(card.title) or name}."
    totals = {k: str(v) for k, v in (("target_days", card.target_days), ("legal_days", card.legal_days)) if v is not None}
    if totals:
        _properties(process, totals)

    # The flow: start → (committee wait →) step → … → end; each node in its step's lane.
    first_role = steps[0].role
    nodes: list[tuple[str, str, str]] = [("start", "startEvent", first_role)]
    for step in steps:
        if step.timer_id:
            nodes.append((step.timer_id, "timer", step.role))
        nodes.append((step.id, "userTask", step.role))
    nodes.append(("end", "endEvent", steps[-1].role))
    flows = [(f"flow_{i:02d}", nodes[i][0], nodes[i + 1][0]) for i in range(len(nodes) - 1)]

    lane_set = _el(process, "bpmn:laneSet", id=f"{key}_lanes")
    lanes = {}
    for role, unit in roles.lane_names.items():
        lane = _el(lane_set, "bpmn:lane", id=f"lane_{role}", name=unit)
        _properties(lane, {"role": role, **({"new_role": "true"} if role in roles.new else {})})
        lanes[role] = lane
    for node_id, _kind, role in nodes:
        _el(lanes[role], "bpmn:flowNodeRef").text = node_id

    by_id = {s.id: s for s in steps}
    incoming = {target: flow for flow, _source, target in flows}
    outgoing = {source: flow for flow, source, _target in flows}
    for node_id, kind, _role in nodes:
        if kind == "startEvent":
            element = _el(process, "bpmn:startEvent", id=node_id, name="Звернення надійшло")
        elif kind == "endEvent":
            element = _el(process, "bpmn:endEvent", id=node_id, name="Послугу надано")
        elif kind == "timer":
            element = _el(process, "bpmn:intermediateCatchEvent", id=node_id, name="Засідання виконавчого комітету")
            _el(element, "bpmn:documentation").text = "Очікування найближчого засідання (1 та 3 середа місяця)."
        else:
            step = by_id[node_id]
            element = _el(process, "bpmn:userTask", id=node_id, name=step.row.stage[:250])
            _el(element, "bpmn:documentation").text = _step_doc(step)
            props = {"action": step.action, **step.props}
            if step.participants:
                props["participants"] = ",".join(f"{role}:{action}" for role, action in step.participants)
            _properties(element, props)
        if node_id in incoming:
            _el(element, "bpmn:incoming").text = incoming[node_id]
        if node_id in outgoing:
            _el(element, "bpmn:outgoing").text = outgoing[node_id]
        if kind == "timer":
            timer = _el(element, "bpmn:timerEventDefinition", id=f"{node_id}_timer")
            time_date = _el(timer, "bpmn:timeDate")
            time_date.set(f"{{{XSI}}}type", "bpmn:tFormalExpression")
            time_date.text = COMMITTEE_TIMER
    for flow_id, source, target in flows:
        _el(process, "bpmn:sequenceFlow", id=flow_id, sourceRef=source, targetRef=target)
    _layout(root, key, nodes, flows, list(roles.lane_names))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True).decode("utf-8")


def _step_doc(step: _Step) -> str:
    number = f"№ {clean(step.row.number)} " if clean(step.row.number) else ""
    units = "; ".join(f"{clean(unit)} — {action}" for unit, action in step.row.units)
    return f"Картка, етап {number}: {step.row.stage}. {units}. Строк: {clean(step.row.term)}."


# Layout: a pool with one horizontal lane per role; nodes left to right in flow order.
_POOL_X, _POOL_Y, _LANE_H, _LABEL_W, _COL_W = 150, 80, 150, 30, 170
_SIZES = {"startEvent": (36, 36), "endEvent": (36, 36), "timer": (36, 36), "userTask": (120, 80)}


def _layout(root: etree._Element, key: str, nodes: list[tuple[str, str, str]], flows: list[tuple[str, str, str]],
            lane_roles: list[str]) -> None:
    diagram = _el(root, "bpmndi:BPMNDiagram", id=f"{key}_di")
    plane = _el(diagram, "bpmndi:BPMNPlane", id=f"{key}_plane", bpmnElement=f"{key}_collaboration")
    width = _LABEL_W + 60 + len(nodes) * _COL_W
    _shape(plane, f"{key}_participant", _POOL_X, _POOL_Y, width, _LANE_H * len(lane_roles), horizontal=True)
    for index, role in enumerate(lane_roles):
        _shape(plane, f"lane_{role}", _POOL_X + _LABEL_W, _POOL_Y + index * _LANE_H, width - _LABEL_W, _LANE_H,
               horizontal=True)
    centre: dict[str, tuple[int, int, int, int]] = {}
    for column, (node_id, kind, role) in enumerate(nodes):
        w, h = _SIZES[kind]
        cx = _POOL_X + _LABEL_W + 80 + column * _COL_W
        cy = _POOL_Y + lane_roles.index(role) * _LANE_H + _LANE_H // 2
        _shape(plane, node_id, cx - w // 2, cy - h // 2, w, h)
        centre[node_id] = (cx, cy, w, h)
    for flow_id, source, target in flows:
        sx, sy, sw, _sh = centre[source]
        tx, ty, tw, _th = centre[target]
        edge = _el(plane, "bpmndi:BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id)
        start, end = (sx + sw // 2, sy), (tx - tw // 2, ty)
        points = [start, end] if sy == ty else [start, ((start[0] + end[0]) // 2, sy), ((start[0] + end[0]) // 2, ty), end]
        for x, y in points:
            _el(edge, "di:waypoint", x=str(x), y=str(y))


def _shape(plane: etree._Element, element_id: str, x: int, y: int, w: int, h: int, horizontal: bool = False) -> None:
    attrs = {"id": f"{element_id}_di", "bpmnElement": element_id}
    if horizontal:
        attrs["isHorizontal"] = "true"
    shape = _el(plane, "bpmndi:BPMNShape", **attrs)
    _el(shape, "dc:Bounds", x=str(x), y=str(y), width=str(w), height=str(h))


# --- forms ---

_SCHEMA = "https://json-schema.org/draft/2020-12/schema"


def _text(title: str, max_length: int = 2000, description: str | None = None) -> dict[str, Any]:
    field_ = {"type": "string", "title": title, "minLength": 1, "pattern": "\\S", "maxLength": max_length}
    return field_ | ({"description": description} if description else {})


def start_form(service: str) -> dict[str, Any]:
    """The applicant's application: who, how to reach them, what they ask, consent."""
    return {
        "$schema": _SCHEMA, "title": f"Заява: {service}"[:200], "type": "object",
        "properties": {
            "surname": _text("Прізвище", 100), "first_name": _text("Ім’я", 100),
            "patronymic": {"type": "string", "title": "По батькові", "maxLength": 100},
            "address": _text("Адреса", 300), "phone": {
                "type": "string", "title": "Номер телефону", "maxLength": 25, "pattern": "^[+0-9() -]{7,25}$",
                "examples": ["+38 (050) 123-45-67"],
            },
            "request": _text("Прошу…", 4000, "Зміст звернення."),
            "personal_data_consent": {
                "type": "boolean", "title": "Згода на обробку персональних даних", "const": True,
                "description": "Відповідно до Закону України «Про захист персональних даних».",
            },
        },
        "required": ["surname", "first_name", "request", "personal_data_consent"],
        "additionalProperties": False,
    }


def step_form(stage: str, action: str) -> dict[str, Any]:
    """A minimal step form: "done" and a note; an approval (П/З) records its outcome and resolution."""
    title = clean(stage)[:200]
    if action in (APPROVES, CONFIRMS):
        word = "Погоджено" if action == APPROVES else "Затверджено"
        properties = {"approved": {"type": "boolean", "title": word}, "resolution": _text("Резолюція")}
        required = ["approved", "resolution"]
    else:
        properties = {"done": {"type": "boolean", "title": "Виконано", "const": True},
                      "note": {"type": "string", "title": "Примітка", "maxLength": 2000}}
        required = ["done"]
    return {"$schema": _SCHEMA, "title": title, "type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def import_card(data: bytes, key: str, name: str | None = None) -> Generated:
    """The use case: a card's DOCX → a diagram and forms that pass every deploy check (not deployed).

    :raise InvalidInput: the card cannot be read, the key is not usable, or (a bug) the result fails validation.
    """
    if not KEY_PATTERN.match(key or ""):
        message = "Ключ процесу: латинські малі літери, цифри і _, починається з літери (напр. housing_subsidy)"
        raise InvalidInput("Неправильний ключ процесу", [FieldError("process_key", message)])
    generated = generate(tech_card.parse_docx(data), key, name)
    definitions.compile_bundle(definitions.Bundle(f"{key}.bpmn", generated.bpmn.encode("utf-8"), {}, generated.forms))
    return generated
