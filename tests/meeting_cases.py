"""Several address-aid applicants brought to the commission's or the committee's step through the
engine (fast), for the tests of batch completion, the meeting pages and the papers."""

from typing import Any

from tests.conftest import kyiv
from tests.integration.engine_walk import Walker
from tests.walks import ADDRESS_AID_STEPS, APPLICATION

#: Four families: three within the 130 % line (2595 UAH in 2026 → 3373.50 per member), one above it.
APPLICANTS: list[dict[str, Any]] = [
    {"surname": "Шевченко", "first_name": "Марія", "patronymic": "Іванівна", "rnokpp": "2954301234",
     "address": "м. Житомир, вул. Велика Бердичівська, 10, кв. 5", "family_members": 2, "total_income_3m": 12000},
    {"surname": "Коваленко", "first_name": "Петро", "patronymic": "Миколайович", "rnokpp": "3012405678",
     "address": "м. Житомир, вул. Київська, 77", "family_members": 3, "total_income_3m": 9000},
    {"surname": "Бондар", "first_name": "Олена", "patronymic": "Василівна", "rnokpp": "2741109876",
     "address": "м. Житомир, просп. Миру, 4, кв. 12", "family_members": 1, "total_income_3m": 15000},
    {"surname": "Ткаченко", "first_name": "Іван", "patronymic": "Петрович", "rnokpp": "3345607890",
     "address": "м. Житомир, вул. Пушкінська, 2", "family_members": 4, "total_income_3m": 24000},
]
REFUSED_SURNAME = "Бондар"

STEPS = list(ADDRESS_AID_STEPS)


def register(walker: Walker, applicant: dict[str, Any]) -> int:
    walker.at(kyiv("2026-02-02 10:00"))
    return walker.start("address_aid", {**APPLICATION, **applicant})


def cases_at(walker: Walker, element_id: str, applicants: list[dict[str, Any]] = APPLICANTS) -> list[int]:
    """Register each applicant on Mon 2026-02-02 and bring every case to ``element_id`` (the
    endorsement on Thu 02-12, the committee's timer fired on Wed 02-18); the case ids in order."""
    ids = [register(walker, a) for a in applicants]
    for step in STEPS[: STEPS.index(element_id) + 1]:
        if step == "endorse_draft_decision":
            walker.at(kyiv("2026-02-12 15:00"))
        if step == "record_committee_decision":
            walker.at(kyiv("2026-02-18 09:00"))
            walker.tick()
        if step == element_id:
            break
        for case_id in ids:
            walker.complete(case_id, step, ADDRESS_AID_STEPS[step])
    return ids
