"""Form data a member of staff would enter at each step, for tests that walk whole cases.

The same sample cases seed ``marshrut demo``; they live in ``reference/demo_cases.json``.
"""

import json
from typing import Any

from marshrut.engine.config import PROJECT_ROOT

_SAMPLES: dict[str, Any] = json.loads((PROJECT_ROOT / "reference" / "demo_cases.json").read_text(encoding="utf-8"))

APPLICATION: dict[str, Any] = _SAMPLES["address_aid"]
ADDRESS_AID_STEPS: dict[str, dict[str, Any]] = _SAMPLES["address_aid_steps"]
REFUSED: dict[str, Any] = _SAMPLES["address_aid_refused"]
ROADMAP_APPLICATION: dict[str, Any] = _SAMPLES["roadmap"]
ROADMAP_STEPS: dict[str, dict[str, Any]] = _SAMPLES["roadmap_steps"]
