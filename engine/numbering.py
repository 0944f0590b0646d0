"""Human-readable registration numbers, unique per process and year: ``АД-2026-000042``."""

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from engine.models import Counter
from engine.store import UnitOfWork


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
