"""Form validation: JSON Schema (draft 2020-12) with formats checked, errors by field path."""

from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from marshrut.engine.errors import FieldError, InvalidInput
from marshrut.engine.input_limits import check_value

#: jsonschema's formats plus Marshrut's own (``iban``); a copy, so the library's is left alone.
FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("iban")
def is_iban(value: object) -> bool:
    """An IBAN whose check digits are right (ISO 13616 mod 97); Ukrainian ones are 29 characters.

    Non-strings pass (``type`` speaks for them), as jsonschema's own format checks do.
    """
    if not isinstance(value, str):
        return True
    if not (15 <= len(value) <= 34 and value.isascii() and value[:2].isalpha() and value[:2].isupper()
            and value[2:].isalnum() and value[2:4].isdigit()):
        return False
    if value.startswith("UA") and (len(value) != 29 or not value[2:].isdigit()):
        return False
    rearranged = value[4:] + value[:4]
    return int("".join(str(int(c, 36)) for c in rearranged)) % 97 == 1

# Validators by the schema object they check. Forms come from the compiled cache, one object
# per deployed form, so each is built once per process; the schema is kept with its
# validator, so its id is not reused while the entry lives.
_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    held = _VALIDATORS.get(id(schema))
    if held is None or held[0] is not schema:
        if len(_VALIDATORS) > 2048:  # schemas built per call (tests, one-off checks) do not pile up
            _VALIDATORS.clear()
        held = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema, format_checker=FORMAT_CHECKER))
    return held[1]


def form_errors(schema: dict[str, Any], data: Any) -> list[FieldError]:
    """Every violation of ``schema`` by ``data``, as JSON-pointer paths with Ukrainian messages
    that name the field by its title in the form."""
    validator = _validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        pointer = _pointer(error)
        errors.append(FieldError(pointer, _message(error, _title(schema, pointer))))
    return errors


def validate_form(schema: dict[str, Any], data: Any) -> None:
    """:raise InvalidInput: with one error per violated field."""
    if not isinstance(data, dict):
        raise InvalidInput("Дані форми мають бути об'єктом JSON", [FieldError("/", "Очікується об'єкт")])
    check_value(data)
    errors = form_errors(schema, data)
    if errors:
        raise InvalidInput("Дані форми не пройшли перевірку", errors)


def _pointer(error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    return "/" + "/".join(str(p) for p in path)


def _title(schema: dict[str, Any], pointer: str) -> str:
    """``/family_members/1/name`` → ``Члени сім’ї, № 2: Ім’я``, from the form's own titles."""
    node: Any = schema
    parts: list[str] = []
    for step in [p for p in pointer.split("/") if p]:
        if not isinstance(node, dict):
            break
        if step.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
            parts.append(f"№ {int(step) + 1}")
            continue
        node = (node.get("properties") or {}).get(step)
        if not isinstance(node, dict):
            parts.append(step)
            break
        parts.append(str(node.get("title") or step))
    if not parts:
        return "Форма"
    head, *rest = parts
    return head + (", " + ", ".join(rest[:-1]) if len(rest) > 1 else "") + (f": {rest[-1]}" if rest else "")


_TYPES = {"string": "текст", "number": "число", "integer": "ціле число", "boolean": "так або ні", "array": "перелік",
          "object": "набір полів", "null": "порожнє значення"}
_FORMATS = {"date": "дата у форматі РРРР-ММ-ДД", "date-time": "дата й час", "email": "адреса електронної пошти"}


def _count(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} {one}"
    return f"{n} {few}" if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14 else f"{n} {many}"


def _message(error: jsonschema.ValidationError, title: str) -> str:
    """A Ukrainian message naming the field by its title: «Поле»: що не так."""
    kind, value = error.validator, error.validator_value
    field = f"«{title}»"
    if kind == "required":
        return f"{field}: обов’язкове поле"
    if kind == "const":
        if value is True:
            return f"{field}: потрібна позначка"
        return f"{field}: за цих умов значення має бути «{_shown(value)}»"
    if kind in ("enum", "oneOf", "anyOf"):
        return f"{field}: оберіть значення з переліку"
    if kind == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        return f"{field}: очікується {' або '.join(_TYPES.get(str(t), str(t)) for t in wanted)}"
    if kind == "format" and error.validator_value == "iban":
        return "Неправильний IBAN: перевірте цифри (контрольна сума не сходиться)"
    if kind == "format":
        return f"{field}: потрібна {_FORMATS.get(str(value), f'правильна форма ({value})')}"
    if kind == "additionalProperties":
        known = set((error.schema.get("properties") or {}).keys())
        extra = sorted(k for k in error.instance if k not in known) if isinstance(error.instance, dict) else []
        return f"Зайві поля: {', '.join(extra)}" if extra else "Зайві поля"
    if kind == "minimum":
        return f"{field}: не менше {_shown(value)}"
    if kind == "exclusiveMinimum":
        return f"{field}: більше {_shown(value)}"
    if kind == "maximum":
        return f"{field}: не більше {_shown(value)}"
    if kind == "exclusiveMaximum":
        return f"{field}: менше {_shown(value)}"
    if kind == "minLength":
        return f"{field}: заповніть поле" if value == 1 else f"{field}: не коротше {_count(value, 'знака', 'знаків', 'знаків')}"
    if kind == "maxLength":
        return f"{field}: не довше {_count(value, 'знака', 'знаків', 'знаків')}"
    if kind == "minItems":
        return f"{field}: оберіть щонайменше {_count(value, 'значення', 'значення', 'значень')}"
    if kind == "maxItems":
        if value == 0:
            return f"{field}: за цих умов має бути порожнім"
        return f"{field}: не більше {_count(value, 'значення', 'значення', 'значень')}"
    if kind == "uniqueItems":
        return f"{field}: значення не мають повторюватися"
    if kind == "pattern":
        return f"{field}: значення не відповідає формату" + (f" ({error.schema['description']})" if error.schema.get("description") else "")
    if kind == "multipleOf":
        return f"{field}: має бути кратним {_shown(value)}"
    if kind == "not":
        return f"{field}: за цих умов таке значення недопустиме"
    return f"{field}: значення не пройшло перевірку"


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "так" if value else "ні"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
