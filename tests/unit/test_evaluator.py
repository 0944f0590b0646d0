"""The restricted evaluator that runs the diagrams' conditions, scripts and timer dates (SPEC §4)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.clock import FixedClock
from marshrut.engine.evaluator import SAFE_BUILTINS, ScriptEngine, UnsafeExpression, check_source

KYIV = ZoneInfo("Europe/Kyiv")
MOMENT = datetime(2026, 2, 3, 1, 30, tzinfo=KYIV)  # still 2 February in UTC


@pytest.fixture
def env():
    return ScriptEngine(FixedClock(MOMENT), BusinessCalendar()).environment


# --- what is allowed -------------------------------------------------------------------------

def test_arithmetic_over_case_data_is_evaluated(env):
    data = {"total_income_3m": 12000, "family_members": 2}
    assert env.evaluate("total_income_3m / 3 / family_members", data) == 2000
    assert env.evaluate("2 + 3 * 4 - 10 // 3 % 2", {}) == 13
    assert env.evaluate("round(2595 * 1.3, 1)", {}) == 3373.5


def test_comparisons_and_boolean_logic_are_evaluated(env):
    data = {"decision": "refuse", "violence_or_threat": True, "income": 3400}
    assert env.evaluate('decision == "refuse" and violence_or_threat == True', data) is True
    assert env.evaluate("income > 1.3 * 2595", data) is True
    assert env.evaluate("1 < 2 <= 2 and not income in [1, 2]", data) is True
    assert env.evaluate('"2026-02-02" >= "2026-01-01"', {}) is True


def test_the_safe_builtins_work(env):
    assert env.evaluate("len(services) + max(services) + sum(sorted(set(services)))", {"services": [5, 1, 5]}) == 14
    assert env.evaluate("[str(x) for x in range(3)]", {}) == ["0", "1", "2"]
    assert env.evaluate('f"{n} грн"', {"n": 3000}) == "3000 грн"


def test_today_is_the_date_in_kyiv(env):
    assert env.evaluate("today()", {}) == "2026-02-03"


def test_now_is_the_engines_moment_in_kyiv(env):
    assert env.evaluate("now()", {}) == "2026-02-03T01:30:00+02:00"


def test_the_next_committee_meeting_after_an_endorsement_on_thursday_12_february_is_wednesday_18(env):
    assert env.evaluate("next_committee_meeting('2026-02-12')", {}) == "2026-02-18T09:00:00+02:00"


def test_the_next_committee_meeting_is_strictly_after_the_day_and_takes_datetimes(env):
    assert env.evaluate("next_committee_meeting('2026-02-18')", {}) == "2026-03-04T09:00:00+02:00"
    assert env.evaluate("next_committee_meeting('2026-02-17T16:00:00+02:00')", {}) == "2026-02-18T09:00:00+02:00"
    assert env.evaluate("next_committee_meeting(today())", {}) == "2026-02-04T09:00:00+02:00"


def test_a_script_sets_case_variables_and_leaves_no_engine_functions_behind(env):
    context = {"total_income_3m": 9000, "family_members": 3}
    env.execute("income_per_member = total_income_3m / 3 / family_members\nchecked_on = today()", context)
    assert context["income_per_member"] == 1000
    assert context["checked_on"] == "2026-02-03"
    assert "today" not in context and "__builtins__" not in context


# --- what is refused -----------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "__import__('os').system('id')",
    "().__class__.__bases__[0].__subclasses__()",
    "data.__dict__",
    "x._private",
    "_hidden",
    "'{0.__class__}'.format(1)",
    "'{x.__class__}'.format_map({'x': 1})",
    "[g.gi_frame.f_back.f_globals for g in [(a for a in [0])]]",
    "lambda: 1",
])
def test_imports_dunders_underscores_and_frame_tricks_are_refused_before_running(env, expression):
    with pytest.raises(UnsafeExpression):
        env.evaluate(expression, {"data": {}, "x": 1})


@pytest.mark.parametrize("script", [
    "import os",
    "from os import path",
    "import builtins",
    "class Escape: pass",
    "def f():\n    global x\n    x = 1",
    "g = (g.gi_frame.f_back.f_back.f_back.f_globals for x in [0])\nfound = [y for y in g][0]",
])
def test_scripts_that_import_or_reach_for_frames_are_refused(env, script):
    context: dict = {}
    with pytest.raises(UnsafeExpression):
        env.execute(script, context)
    assert context == {}


@pytest.mark.parametrize("name", ["exec", "eval", "open", "compile", "getattr", "globals", "vars", "type",
                                  "input", "breakpoint", "help", "memoryview"])
def test_dangerous_builtins_are_not_there(env, name):
    assert name not in SAFE_BUILTINS
    with pytest.raises(UnsafeExpression):
        env.evaluate(f"{name}('1')", {})


def test_a_case_variable_cannot_smuggle_in_the_real_builtins(env):
    with pytest.raises(UnsafeExpression):
        env.evaluate("open('/etc/hostname')", {"__builtins__": __builtins__})
    with pytest.raises(NameError):
        env.evaluate("len(open)", {"__builtins__": __builtins__})


def test_a_syntax_error_is_refused_with_a_ukrainian_message():
    with pytest.raises(UnsafeExpression) as error:
        check_source("decision ==", mode="eval")
    assert "Синтаксична помилка" in error.value.message


def test_refusals_name_what_is_forbidden():
    with pytest.raises(UnsafeExpression) as error:
        check_source("import os")
    assert "import" in error.value.message
    with pytest.raises(UnsafeExpression) as error:
        check_source("().__class__", mode="eval")
    assert "__class__" in error.value.message
