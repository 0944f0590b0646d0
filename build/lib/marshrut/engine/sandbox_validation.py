"""Deploy-time check of every expression a diagram carries, by the same sandbox that runs it.

Scripts, gateway conditions, timer expressions, step rules (``reject_if``, ``provider``) and the
decision tables' input expressions, input entries and output entries are parsed by
:func:`engine.sandbox.parse`; a construct outside the grammar is refused with the element
id. Then every name an expression reads must be known (docs/sandbox.md, "Names"):

- an allowed builtin (``len``, ``round``, …) or helper (``today``, ``now``,
  ``next_committee_meeting``) — the only things that may be *called* by name;
- a field of one of the process's forms (any level of ``properties``);
- a variable the engine sets (``received_date``, ``target_due``, …), that a script of the
  diagram assigns, that a decision table outputs, or a multi-instance element variable;
- in a script, a name assigned earlier in the same script (or a loop/comprehension target).

Decision cells written the Camunda/FEEL way (``true``, ``null``, ``[1..5]``, ``"a","b"``,
``not("x")``) are refused with the Python to write instead: Spiff evaluates cells as Python.
"""

import ast
import re
from typing import Any, Iterable

from lxml import etree

from marshrut.engine import diagram
from marshrut.engine.diagram import NS, DiagramFacts
from marshrut.engine.errors import FieldError, InvalidInput
from marshrut.engine.sandbox import BUILTIN_NAMES, CALLABLE_NAMES, ENGINE_VARIABLES, HELPER_NAMES, names_used, parse
from marshrut.engine.sandbox_guards import UnsafeExpression

CAMUNDA_LITERALS = {"true": "True", "false": "False", "null": "None"}
DMN_INPUT = "dmninputexpr"  # what Spiff's DMN engine puts for ``?`` in a cell
_FEEL_RANGE = re.compile(r"^\s*[\[\]\(]\s*[^\[\]]+?\s*\.\.\s*[^\[\]]+?\s*[\[\]\)]\s*$")
#: Where an expression sits inside the element it belongs to.
_DEFINITIONS = {"timerEventDefinition", "conditionalEventDefinition", "multiInstanceLoopCharacteristics",
                "standardLoopCharacteristics"}
_QUESTION_OUTSIDE_QUOTES = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")


def expression_errors(root: etree._Element, facts: DiagramFacts, forms: dict[str, Any],
                      dmn: dict[str, bytes]) -> list[FieldError]:
    """Every expression of the process and of its decision tables, checked; one error per problem."""
    tables = _referenced_decisions(root, _dmn_roots(dmn))
    known = _process_names(root, facts, forms) | _dmn_outputs(tables)
    expressions = _expressions(root, facts)
    assigned_by = _script_assignments(facts, expressions)
    errors: list[FieldError] = []
    for element_id, sources in expressions.items():
        mode = "exec" if facts.kinds.get(element_id) == "scriptTask" else "eval"
        others = set().union(*(names for owner, names in assigned_by.items() if owner != element_id))
        for source in sources:
            errors += _check(element_id, source, mode, known | others)
    every_assignment = set().union(set(), *assigned_by.values())
    for element_id, props in facts.properties.items():
        for rule in ("reject_if", "provider"):  # step rules: a refusal's condition, a delivery's provider
            if rule in props:
                errors += _check(element_id, props[rule], "eval", known | every_assignment)
    for name, decision in tables.items():
        errors += _dmn_errors(name.partition("#")[0], decision, known | every_assignment)
    return errors


def _check(element_id: str, source: str, mode: str, known: set[str], label: str = "") -> list[FieldError]:
    try:
        tree = parse(source, mode=mode)
    except UnsafeExpression as err:
        return [FieldError(element_id, label + err.message)]
    errors = []
    for name, line in names_used(tree):
        if name in CAMUNDA_LITERALS:
            errors.append(FieldError(element_id, f"{label}«{name}» у виразі «{source[:200]}»: вирази діаграм пишуться "
                                                 f"мовою Python — пишіть {CAMUNDA_LITERALS[name]}"))
        elif name not in known and name not in CALLABLE_NAMES:
            errors.append(FieldError(element_id, f"{label}Невідоме ім'я «{name}» (рядок {line}) у виразі «{source[:200]}»: "
                                                 "це не дозволена функція, не поле форми процесу і не змінна, яку "
                                                 "задає рушій, скрипт чи таблиця рішень"))
    return errors


# --- the names a process knows -----------------------------------------------------------------

def _process_names(root: etree._Element, facts: DiagramFacts, forms: dict[str, Any]) -> set[str]:
    names = set(BUILTIN_NAMES | HELPER_NAMES | ENGINE_VARIABLES)
    for schema in forms.values():
        names |= set(_form_fields(schema))
    for process in diagram.executable_processes(root):
        for loop in process.xpath(".//bpmn:multiInstanceLoopCharacteristics", namespaces=NS):
            for attribute in ("elementVariable", "collection"):
                value = loop.get(f"{{{NS['camunda']}}}{attribute}")
                if value:
                    names.add(value)
    return names


def _form_fields(schema: Any) -> Iterable[str]:
    if isinstance(schema, dict):
        for key, value in (schema.get("properties") or {}).items():
            yield key
            yield from _form_fields(value)
        for keyword in ("items", "then", "else"):
            yield from _form_fields(schema.get(keyword))
        for keyword in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(keyword) or []:
                yield from _form_fields(part)
        for part in (schema.get("$defs") or {}).values():
            yield from _form_fields(part)


def _expressions(root: etree._Element, facts: DiagramFacts) -> dict[str, list[str]]:
    """Scripts, conditions and timer expressions, each under the flow element that holds it
    (a timer's event, not its event definition nor the process around it)."""
    found: dict[str, list[str]] = {}
    tags = {f"{{{NS['bpmn']}}}{name}" for name in ("script", "conditionExpression", "timeDate", "timeDuration",
                                                   "timeCycle", "loopCardinality", "completionCondition", "condition")}
    for process in diagram.executable_processes(root):
        for node in process.iter(*tags):
            owner = node.getparent()
            if owner is not None and diagram.local_name(owner) in _DEFINITIONS:
                owner = owner.getparent()
            text = (node.text or "").strip()
            if owner is not None and text:
                found.setdefault(owner.get("id") or facts.process_id, []).append(text)
    return found


def _script_assignments(facts: DiagramFacts, expressions: dict[str, list[str]]) -> dict[str, set[str]]:
    assigned: dict[str, set[str]] = {}
    for element_id, sources in expressions.items():
        if facts.kinds.get(element_id) != "scriptTask":
            continue
        for source in sources:
            try:
                tree = parse(source)
            except UnsafeExpression:
                continue
            assigned.setdefault(element_id, set()).update(
                n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return assigned


# --- decision tables ---------------------------------------------------------------------------

def _dmn_roots(dmn: dict[str, bytes]) -> dict[str, etree._Element]:
    roots = {}
    for name, data in dmn.items():
        try:
            roots[name] = diagram.parse_xml(data, name)
        except InvalidInput:
            continue  # reported by Spiff's parse with its own message
    return roots


def _referenced_decisions(root: etree._Element, dmn_roots: dict[str, etree._Element]) -> dict[str, etree._Element]:
    """The decisions the process's business-rule tasks name (other tables given along are not its own)."""
    wanted = {task.get(f"{{{NS['camunda']}}}decisionRef") for task in root.iter(f"{{{NS['bpmn']}}}businessRuleTask")}
    return {f"{name}#{decision.get('id')}": decision for name, dmn_root in dmn_roots.items()
            for decision in dmn_root.iter("{*}decision") if decision.get("id") in wanted}


def _dmn_outputs(tables: dict[str, etree._Element]) -> set[str]:
    return {o.get("name") for r in tables.values() for o in r.iter("{*}output") if o.get("name")}


def _text_of(element: etree._Element) -> str:
    text = element.find("{*}text")
    return (text.text or "").strip() if text is not None else ""


def _dmn_errors(file_name: str, root: etree._Element, known: set[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    for table in root.iter("{*}decisionTable"):
        inputs = [_text_of(i.find("{*}inputExpression")) if i.find("{*}inputExpression") is not None else ""
                  for i in table.findall("{*}input")]
        for index, element in enumerate(table.findall("{*}input")):
            expression = element.find("{*}inputExpression")
            if expression is not None and inputs[index]:
                errors += _check(expression.get("id") or element.get("id", file_name), inputs[index], "eval", known,
                                 f"{file_name}: ")
        for row, rule in enumerate(table.findall("{*}rule"), start=1):
            for column, entry in enumerate(rule.findall("{*}inputEntry")):
                input_text = inputs[column] if column < len(inputs) else ""
                errors += _input_entry_errors(file_name, row, entry, input_text, known)
            for entry in rule.findall("{*}outputEntry"):
                text = _text_of(entry)
                if text:
                    errors += _check(entry.get("id", file_name), text, "eval", known, f"{file_name}, рядок {row}: ")
    return errors


def _input_entry_errors(file_name: str, row: int, entry: etree._Element, input_text: str,
                        known: set[str]) -> list[FieldError]:
    """A cell as Spiff's DMN engine reads it: ``-`` or empty is "any"; ``?`` stands for the
    input; a cell that does not parse alone is appended to the input (``>= 5``); otherwise
    ``(input) == (cell)``."""
    text = _text_of(entry)
    element_id = entry.get("id", file_name)
    label = f"{file_name}, рядок {row}: "
    if not text or text == "-":
        return []
    if _FEEL_RANGE.match(text):
        return [FieldError(element_id, f"{label}діапазон FEEL «{text}» не підтримується: пишіть умову Python "
                                       "з «?» на місці вхідного значення, напр. «1 <= ? <= 5»")]
    if _QUESTION_OUTSIDE_QUOTES.search(text):
        return _check(element_id, _QUESTION_OUTSIDE_QUOTES.sub(DMN_INPUT, text), "eval", known | {DMN_INPUT}, label)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        comparison = f"{DMN_INPUT} {text}"
        try:
            ast.parse(comparison, mode="eval")
        except SyntaxError:
            return [FieldError(element_id, f"{label}комірка «{text}» не є виразом Python ні порівнянням "
                                           "(напр. «>= 5», «\"так\"», «True»)")]
        return _check(element_id, comparison, "eval", known | {DMN_INPUT}, label)
    except (RecursionError, MemoryError, ValueError):
        return [FieldError(element_id, f"{label}комірка «{text[:200]}» некоректна")]
    if isinstance(tree.body, ast.Tuple):
        return [FieldError(element_id, f"{label}список значень через кому «{text}» (FEEL) не підтримується: "
                                       "пишіть «? in (\"a\", \"b\")»")]
    if isinstance(tree.body, ast.UnaryOp) and isinstance(tree.body.op, ast.Not) and text.startswith("not("):
        return [FieldError(element_id, f"{label}заперечення FEEL «{text}» не підтримується: пишіть «? != ...»")]
    return _check(element_id, text, "eval", known, label)
