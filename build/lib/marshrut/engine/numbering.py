"""Human-readable registration numbers, unique per process and year: ``АД-2026-000042``."""

import hashlib

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from marshrut.engine.errors import FieldError, InvalidInput
from marshrut.engine.models import Counter, Definition
from marshrut.engine.store import UnitOfWork


def next_number(uow: UnitOfWork, process_key: str, prefix: str, year: int) -> str:
    """Issue the next number; the counter row's update serialises concurrent registrations."""
    for _attempt in range(3):
        issued = uow.session.execute(
            update(Counter)
            .where(Counter.process_key == process_key, Counter.year == year)
            .values(last=Counter.last + 1)
            .returning(Counter.last)
        ).scalar()
        if issued is not None:
            return f"{prefix}-{year}-{issued:06d}"
        try:
            with uow.session.begin_nested():
                uow.session.add(Counter(process_key=process_key, year=year, last=1))
            return f"{prefix}-{year}-{1:06d}"
        except IntegrityError:
            continue  # another registration created the row first; increment it instead
    raise RuntimeError("could not issue a registration number")


#: Room a prefix has in the number column (``String(40)``) beside ``-2026-000042``.
MAX_PREFIX = 28


def number_prefix(process_key: str, properties: dict) -> str:
    """The prefix of a process's numbers: its ``number_prefix`` property, else its whole key.

    The key is unique among processes, so two processes never share numbers by accident (the
    first two letters of ``aid_a`` and ``aid_b`` did); a key too long for the column keeps a
    digest of itself so that it stays unique.
    """
    prefix = properties.get("number_prefix") or process_key.upper()
    if len(prefix) > MAX_PREFIX:
        prefix = prefix[:MAX_PREFIX - 9] + "-" + hashlib.sha256(prefix.encode()).hexdigest()[:8].upper()
    return prefix


def check_prefix_is_free(uow: UnitOfWork, process_key: str, properties: dict) -> None:
    """:raise InvalidInput: another process already numbers its cases with this prefix."""
    prefix = number_prefix(process_key, properties)
    others = uow.session.execute(select(Definition.key, Definition.properties).where(Definition.key != process_key))
    taken = sorted({key for key, props in others if number_prefix(key, props or {}) == prefix})
    if taken:
        message = (f"Префікс номерів «{prefix}» уже має процес «{taken[0]}»: задайте інший "
                   "number_prefix у властивостях процесу")
        raise InvalidInput(message, [FieldError(process_key, message)])
