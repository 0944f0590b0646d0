"""µs per evaluation of the shipped diagrams' expressions: plain ``eval`` of the same text with
the same builtins (the old evaluator, checks aside) against the sandbox (guards and budget).

Run: ``.venv/bin/python bench/sandbox_overhead.py``
"""

import timeit
from datetime import datetime
from zoneinfo import ZoneInfo

from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.clock import FixedClock
from marshrut.engine.evaluator import SAFE_BUILTINS, ScriptEngine

DATA = {"package_complete": True, "decision": "granted", "crisis": False, "total_income_3m": 9000,
        "family_members": 3, "income_per_member": 3000, "subsistence_minimum": 2595, "able_bodied_not_working": False,
        "received_date": "2026-02-02", "target_due": "2026-02-20T18:00:00+02:00", "dmninputexpr": 115.6}
EXPRESSIONS = [
    "package_complete == True", 'decision == "granted"', "crisis != True", "target_due",
    "income_per_member * 100 / subsistence_minimum", "(income_per_member * 100 / subsistence_minimum) <= 130",
    'received_date>= "2026-01-01"', "next_committee_meeting(today())",
]
SCRIPT = "income_per_member = total_income_3m / 3 / family_members if family_members else total_income_3m / 3"


def main() -> None:
    env = ScriptEngine(FixedClock(datetime(2026, 2, 3, 10, tzinfo=ZoneInfo("Europe/Kyiv"))), BusinessCalendar()).environment
    runs = 20000
    print(f"{'expression':60} {'plain µs':>9} {'sandbox µs':>10}")
    for text in EXPRESSIONS + [SCRIPT]:
        mode = "exec" if text is SCRIPT else "eval"
        code = compile(text, "<plain>", mode)
        scope = {**env.globals, **DATA, "__builtins__": SAFE_BUILTINS}
        plain = timeit.timeit(lambda: (eval if mode == "eval" else exec)(code, dict(scope)), number=runs)
        if mode == "eval":
            guarded = timeit.timeit(lambda: env.evaluate(text, DATA), number=runs)
        else:
            guarded = timeit.timeit(lambda: env.execute(text, dict(DATA)), number=runs)
        print(f"{text[:60]:60} {plain / runs * 1e6:9.2f} {guarded / runs * 1e6:10.2f}")


if __name__ == "__main__":
    main()
