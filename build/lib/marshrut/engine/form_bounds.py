"""Every string and list a form accepts has a bound (SPEC §8).

A form is what a person may send into a case; without ``maxLength``/``maxItems`` one request
can put megabytes into a case's data, its saved workflow and every answer that shows it. The
deploy checks refuse a form with an unbounded field, naming it.
"""

from typing import Any

from marshrut.engine.errors import FieldError

#: String formats whose own grammar bounds their length.
SELF_BOUNDED_FORMATS = frozenset({"date", "date-time", "time", "email", "uuid"})


def unbounded_fields(schema: Any, path: str = "") -> list[str]:
    """JSON-pointer paths of the string and array fields in ``schema`` that have no bound."""
    if not isinstance(schema, dict):
        return []
    found: list[str] = []
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    choices = schema.get("oneOf") or schema.get("anyOf") or []
    bounded_by_values = "enum" in schema or "const" in schema or (
        bool(choices) and all(isinstance(c, dict) and "const" in c for c in choices))
    if "string" in kinds and not bounded_by_values and "maxLength" not in schema \
            and schema.get("format") not in SELF_BOUNDED_FORMATS:
        found.append(path or "/")
    if "array" in kinds and "maxItems" not in schema:
        found.append(path or "/")
    for name, child in (schema.get("properties") or {}).items():
        found += unbounded_fields(child, f"{path}/{name}")
    if isinstance(schema.get("items"), dict):
        found += unbounded_fields(schema["items"], f"{path}/*")
    for keyword in ("oneOf", "anyOf", "allOf"):
        for child in schema.get(keyword) or []:
            found += unbounded_fields(child, path)
    for keyword in ("then", "else", "if"):
        found += unbounded_fields(schema.get(keyword), path)
    for name, child in (schema.get("$defs") or {}).items():
        found += unbounded_fields(child, f"{path}/$defs/{name}")
    return found


def bound_errors(process_id: str, forms: dict[str, Any]) -> list[FieldError]:
    """One error per form that leaves a string or a list unbounded."""
    errors = []
    for name, schema in sorted(forms.items()):
        fields = sorted(set(unbounded_fields(schema)))
        if fields:
            listed = ", ".join(f.lstrip("/") or "(уся форма)" for f in fields)
            errors.append(FieldError(name, f"Форма forms/{process_id}/{name}.json: задайте межі — maxLength для рядків і "
                                           f"maxItems для списків — полям {listed}"))
    return errors
