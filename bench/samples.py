"""The sample form data of an address-aid case (the same file as ``tests/walks.py`` and ``marshrut demo``)."""

import json
from typing import Any

from marshrut.engine.config import PROJECT_ROOT

_SAMPLES: dict[str, Any] = json.loads((PROJECT_ROOT / "reference" / "demo_cases.json").read_text(encoding="utf-8"))

APPLICATION: dict[str, Any] = _SAMPLES["address_aid"]
STEPS: dict[str, dict[str, Any]] = _SAMPLES["address_aid_steps"]
#: The user tasks of the granted path, in order; the committee meeting timer comes after the tenth.
PATH = ["accept_documents", "form_personal_file", "register_application", "send_to_director", "director_resolution",
        "send_to_executor", "prepare_commission_materials", "prepare_commission_minutes", "draft_committee_decision",
        "endorse_draft_decision", "record_committee_decision", "prepare_payment_registers", "notify_applicant"]
BEFORE_COMMITTEE = 10
