"""JSON Schema forms as HTML: fields to render, the posted form back to typed JSON, and the
engine's validation errors (JSON pointer paths) placed next to their fields.

The schema stays the one source of the rules: this module only converts. Validation is the
engine's (``engine.forms`` via the use cases); a value that cannot even be converted (``abc``
in a number field) is passed on as text, so the engine reports it at its path, and the
message is replaced by a plainer one here.
"""

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from werkzeug.datastructures import MultiDict

from marshrut.engine.errors import FieldError

ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
OTHER_SUFFIX = "__other"
LONG_TEXT = 500  # a string allowed this long (or longer) gets a textarea
YES, NO = "true", "false"


@dataclass
class Field:
    """One form field as the template draws it."""

    name: str
    title: str
    widget: str  # text, textarea, integer, number, date, select, yesno, consent, checkboxes, json
    description: str = ""
    required: bool = False
    options: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None  # str for inputs, list[str] for checkboxes, bool for a consent box
    other: str = ""  # free entries of a suggestion list, "; "-separated
    free: bool = False  # checkboxes that also take free text («інше»)
    placeholder: str = ""
    attrs: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"/{self.name}"


def choices(prop: dict[str, Any]) -> list[tuple[Any, str]] | None:
    """``oneOf: [{const, title}]`` or ``enum`` as (value, title) pairs; None when free."""
    if "oneOf" in prop and all("const" in o for o in prop["oneOf"]):
        return [(o["const"], o.get("title") or str(o["const"])) for o in prop["oneOf"]]
    if "enum" in prop:
        return [(v, str(v)) for v in prop["enum"]]
    return None


def _widget(prop: dict[str, Any]) -> str:
    kind = prop.get("type")
    if kind == "boolean":
        return "consent" if prop.get("const") is True else "yesno"
    if kind == "array":
        items = prop.get("items") or {}
        return "checkboxes" if choices(items) is not None or items.get("type") == "string" else "json"
    if choices(prop) is not None:
        return "select"
    if kind in ("integer", "number"):
        return kind
    if kind == "string":
        if prop.get("format") == "date":
            return "date"
        return "textarea" if prop.get("maxLength", 0) >= LONG_TEXT else "text"
    return "json"


def fields(schema: dict[str, Any], values: dict[str, Any] | None = None,
           errors: dict[str, list[str]] | None = None, today: date | None = None,
           prefill: dict[str, Any] | None = None) -> list[Field]:
    """The form's top-level properties as fields, filled with ``values`` (typed JSON); on a fresh
    form, a field with ``x-prefill: <name>`` starts with the case's value of that name (``prefill``)."""
    values = values if values is not None else {}
    errors = errors or {}
    required = set(schema.get("required") or [])
    result = []
    for name, prop in (schema.get("properties") or {}).items():
        widget = _widget(prop)
        f = Field(name=name, title=prop.get("title") or name, widget=widget, description=prop.get("description") or "",
                  required=name in required, errors=errors.get(name, []))
        value = values.get(name, prop.get("default"))
        if value is None and not values and prefill and isinstance(prop.get("x-prefill"), str):
            value = prefill.get(prop["x-prefill"])  # e.g. the decided amount from the recommended one
        if value is None and widget == "date" and f.required and today is not None and not values:
            value = today.isoformat()
        _fill(f, prop, value)
        result.append(f)
    return result


def _fill(f: Field, prop: dict[str, Any], value: Any) -> None:
    if f.widget == "select":
        f.options = [(_text(v), t) for v, t in choices(prop) or []]
    elif f.widget == "yesno":
        f.options = [(YES, "Так"), (NO, "Ні")]
    elif f.widget == "checkboxes":
        items = prop.get("items") or {}
        listed = choices(items)
        f.free = listed is None
        f.options = [(_text(v), t) for v, t in listed] if listed else [(o, o) for o in prop.get("x-options") or []]
    if f.widget == "checkboxes":
        chosen = [_text(v) for v in value] if isinstance(value, list) else []
        known = {o for o, _ in f.options}
        f.value = [v for v in chosen if v in known]
        f.other = "; ".join(v for v in chosen if v not in known)
    elif f.widget == "consent":
        f.value = value is True
    elif f.widget == "json":
        f.value = json.dumps(value, ensure_ascii=False) if value is not None else ""
    elif f.widget == "date" and isinstance(value, str) and ISO_DATE.match(value):
        f.value = ".".join(reversed(value.split("-")))  # дд.мм.рррр whatever the browser's language
    else:
        f.value = _text(value) if value is not None else ""
    if f.widget in ("integer", "number"):
        f.attrs = {k: prop[k] for k in ("minimum", "maximum") if k in prop}
    if f.widget in ("text", "textarea") and "maxLength" in prop:
        f.attrs = {"maxlength": prop["maxLength"]}
    examples = prop.get("examples")
    if f.widget in ("text", "textarea") and isinstance(examples, list) and examples and isinstance(examples[0], str):
        f.placeholder = f"напр. {examples[0]}"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return YES if value else NO
    return str(value)


def parse(schema: dict[str, Any], form: MultiDict) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted form as the JSON the schema describes.

    Empty inputs are left out (so ``required`` speaks); values that do not convert stay text.

    :return: ``(data, notes)``: notes are plainer messages for values that did not convert,
        by JSON pointer, to show in place of the engine's type errors.
    """
    data: dict[str, Any] = {}
    notes: dict[str, str] = {}
    for name, prop in (schema.get("properties") or {}).items():
        widget = _widget(prop)
        if widget == "checkboxes":
            items = prop.get("items") or {}
            picked = [_typed(items, v) for v in form.getlist(name) if v.strip()]
            picked += [p.strip() for chunk in form.getlist(name + OTHER_SUFFIX) for p in chunk.replace("\n", ";").split(";")
                       if p.strip()]
            if picked:  # nothing chosen = left out, so a required list asks for at least one
                data[name] = list(dict.fromkeys(picked))
            continue
        if widget == "consent":
            if form.get(name) == YES:
                data[name] = True
            continue
        raw = (form.get(name) or "").strip()
        if not raw:
            continue
        if widget == "json":
            try:
                data[name] = json.loads(raw)
            except ValueError:
                data[name], notes[f"/{name}"] = raw, "Неправильний формат даних"
            continue
        if widget == "date":
            data[name] = iso_date(raw)
            if not ISO_DATE.match(data[name]):
                notes[f"/{name}"] = "Введіть дату у форматі дд.мм.рррр"
            continue
        value = _typed(prop, raw)
        if isinstance(value, str) and prop.get("type") in ("integer", "number", "boolean"):
            notes[f"/{name}"] = "Введіть ціле число" if prop.get("type") == "integer" else (
                "Введіть число" if prop.get("type") == "number" else "Оберіть «Так» або «Ні»")
        data[name] = value
    return data, notes


def iso_date(raw: str) -> str:
    """``18.02.2026`` (or ``18.2.2026``, ``18/02/2026``) → ``2026-02-18``; ISO stays; anything else as typed."""
    found = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{4})", raw)
    if found:
        day, month, year = found.groups()
        try:
            return date(int(year), int(month), int(day)).isoformat()
        except ValueError:
            return raw
    return raw


def _typed(prop: dict[str, Any], raw: str) -> Any:
    """A text value converted to the schema's type, or left as text when it does not convert."""
    kind = prop.get("type")
    if kind == "boolean":
        return {YES: True, NO: False}.get(raw, raw)
    if kind in ("integer", "number"):
        cleaned = raw.replace(" ", "").replace("\u00a0", "").replace(",", ".")
        try:
            number = float(cleaned)
        except ValueError:
            return raw
        if kind == "integer":
            return int(number) if number.is_integer() else raw
        return int(number) if number.is_integer() and "." not in cleaned else number
    return raw


def place_errors(schema: dict[str, Any], errors: list[FieldError], notes: dict[str, str] | None = None
                 ) -> tuple[dict[str, list[str]], list[str]]:
    """Engine errors by field name (``/missing_documents/0`` → ``missing_documents``), and the
    rest (whole-form rules, unknown paths) for the top of the form."""
    notes = notes or {}
    names = set((schema.get("properties") or {}).keys())
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for error in errors:
        name = error.path.strip("/").split("/")[0]
        message = notes.get(f"/{name}", error.message)
        if name in names:
            if message not in by_field.setdefault(name, []):
                by_field[name].append(message)
        elif message not in general:
            general.append(message)
    return by_field, general


def titles_of(forms: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every property of a process's forms by name (start form first), to label case data."""
    result: dict[str, dict[str, Any]] = {}
    ordered = [forms.get("start") or {}] + [f for k, f in sorted(forms.items()) if k != "start"]
    for schema in ordered:
        for name, prop in (schema.get("properties") or {}).items():
            result.setdefault(name, prop)
    return result


def money(value: float | int) -> str:
    """``1666.6666`` → ``1 666,67`` (two decimals, a comma, thin groups of thousands)."""
    return f"{value:,.2f}".replace(",", "\u00a0").replace(".", ",")


def display(prop: dict[str, Any] | None, value: Any) -> str:
    """A stored value as people read it: enum titles (``oneOf``, ``x-labels``), Так/Ні, lists joined,
    dates ``дд.мм.рррр``, numbers of ``type: number`` (sums) with two decimals and a comma."""
    prop = prop or {}
    if isinstance(value, bool):
        return "Так" if value else "Ні"
    if isinstance(value, list):
        items = prop.get("items") or {}
        return "; ".join(display(items, v) for v in value) if value else "—"
    listed = dict((_text(v), t) for v, t in choices(prop) or [])
    labels = prop.get("x-labels")
    if isinstance(labels, dict):
        listed = {**{str(k): str(v) for k, v in labels.items()}, **listed}
    if listed and _text(value) in listed:
        return listed[_text(value)]
    if isinstance(value, (int, float)) and (prop.get("type") == "number" or isinstance(value, float)):
        return money(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if value is None or value == "":
        return "—"
    if isinstance(value, str) and (prop.get("format") == "date" or prop.get("type") is None) and ISO_DATE.match(value):
        return ".".join(reversed(value.split("-")))
    return str(value)


def display_rows(props: dict[str, dict[str, Any]], data: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()
                 ) -> list[tuple[str, str]]:
    """``(title, text)`` rows for the data, in the forms' order, unknown keys last."""
    known = [k for k in props if k in data and k not in skip]
    rest = sorted(k for k in data if k not in props and k not in skip)
    return [((props.get(k) or {}).get("title") or k, display(props.get(k), data[k])) for k in known + rest]
