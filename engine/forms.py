"""Form validation: JSON Schema (draft 2020-12) with formats checked, errors by field path."""

from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

from engine.errors import FieldError, InvalidInput
from engine.input_limits import check_value

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
    if kind == "format" and error.validator_value == "iban":
        return "Неправильний IBAN: перевірте цифри (контрольна сума не сходиться)"
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
