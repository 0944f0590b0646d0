"""Form validation: JSON Schema (draft 2020-12) with formats checked, errors by field path."""

from typing import Any

import jsonschema
from jsonschema import Draft202012Validator

from engine.errors import FieldError, InvalidInput
from engine.input_limits import check_value

FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER

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
    """Every violation of ``schema`` by ``data``, as JSON-pointer paths with messages."""
    validator = _validator(schema)
    errors = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path)):
        errors.append(FieldError(_pointer(error), _message(error)))
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


def _message(error: jsonschema.ValidationError) -> str:
    """A Ukrainian message for the common cases, the validator's own text otherwise."""
    kind = error.validator
    if kind == "required":
        return "Обов'язкове поле"
    if kind == "const":
        return f"Значення має бути {error.validator_value!r}"
    if kind in ("enum", "oneOf"):
        return "Значення не з дозволеного переліку"
    if kind == "type":
        return f"Неправильний тип: очікується {error.validator_value}"
    if kind == "format":
        return f"Неправильний формат ({error.validator_value})"
    if kind == "additionalProperties":
        return f"Зайві поля: {error.message}"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"Значення має бути не менше {error.validator_value}"
    if kind == "minItems":
        return f"Потрібно щонайменше {error.validator_value} елемент(и)"
    if kind == "pattern":
        return "Значення не відповідає формату"
    return error.message
