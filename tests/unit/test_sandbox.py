"""The sandbox of diagram scripts and expressions (SPEC §8, issue 11 items 1–2): the escape
families are refused before anything runs and again if they reach run time, and every limit
(number size, text and list length, iterations, time, memory) fails fast with
SandboxLimitExceeded — an ordinary Exception with a Ukrainian message naming the limit."""

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from marshrut.engine import sandbox_guards
from marshrut.engine.business_calendar import BusinessCalendar
from marshrut.engine.clock import FixedClock
from marshrut.engine.errors import EngineError, SandboxLimitExceeded
from marshrut.engine.evaluator import ScriptEngine, UnsafeExpression, check_source, evaluate
from marshrut.engine.sandbox_guards import guard_attr

MOMENT = datetime(2026, 2, 3, 10, 0, tzinfo=ZoneInfo("Europe/Kyiv"))


@pytest.fixture
def env():
    return ScriptEngine(FixedClock(MOMENT), BusinessCalendar()).environment


#: One example per escape family of issue 11 (scripts: exec mode).
ESCAPES = {
    "dunder name": "x = __import__('os').system('id')",
    "dunder builtins": "x = __builtins__",
    "dunder attribute": "x = ().__class__.__bases__[0].__subclasses__()",
    "dunder string": "x = '__class__'",
    "match class pattern": "O = 1\nmatch O:\n    case int(real=r):\n        x = r",
    "match class pattern with dunder": "match 1:\n    case object(__class__=c):\n        x = c",
    "match mapping pattern": "match {'a': 1}:\n    case {'a': v}:\n        x = v",
    "str.format attribute walk": "x = '{0.real}'.format(1)",
    "str.format_map": "x = '{a}'.format_map({'a': 1})",
    "f-string conversion": "x = f'{len!r}'",
    "f-string nested format spec": "y = 9\nx = f'{1:{y}}'",
    "f-string huge width": "x = f'{1:>1000000000}'",
    "generator frame": "g = (a for a in [1])",
    "frame attribute": "x = [g.gi_frame for g in [1]]",
    "mro walk": "x = int.mro()",
    "subclasses walk": "x = object.__subclasses__()",
    "type()": "x = type(1)",
    "getattr": "x = getattr(1, 'real')",
    "vars": "x = vars()",
    "globals": "x = globals()",
    "bound method self": "x = len.__self__",
    "lambda": "f = lambda: 1",
    "def": "def f():\n    return 1",
    "class": "class C:\n    pass",
    "while": "while True:\n    pass",
    "try swallowing a limit": "try:\n    x = 1\nexcept Exception:\n    pass",
    "import": "import os",
    "walrus": "x = (y := 1)",
    "keyword dunder": "x = dict(__class__=1)",
    "double-star unpacking": "x = dict(**{'a': 1})",
    "bytes": "x = b'abc'",
    "attribute assignment": "x = [1]\nx.y = 2",
    "a function passed as a value": "x = sorted(['b', 'a'], key=str)",
    "a builtin kept in a variable": "f = len\nx = f([1])",
    "a method passed as a value": "s = 'ab'\nx = sorted(['a', 'b'], key=s.count)",
}


@pytest.mark.parametrize("label", list(ESCAPES))
def test_every_escape_family_is_refused_by_the_check(label):
    with pytest.raises(UnsafeExpression):
        check_source(ESCAPES[label])


@pytest.mark.parametrize("label", list(ESCAPES))
def test_every_escape_family_is_refused_when_it_reaches_run_time(env, label):
    """A diagram stored before this check (or by-passing it) is checked again when it runs."""
    context = {"x": 0}
    with pytest.raises(UnsafeExpression):
        env.execute(ESCAPES[label], context)
    assert context == {"x": 0}


@pytest.mark.parametrize(("value", "name"), [
    ((), "__class__"), (int, "mro"), (int, "__subclasses__"), ("x", "format"), ("x", "format_map"),
    ("x", "encode"), (len, "__self__"), ([], "__class__"), ({}, "fromkeys"), (1, "real"),
])
def test_the_attribute_guard_allows_only_listed_methods_of_listed_types(value, name):
    with pytest.raises(UnsafeExpression):
        guard_attr(value, name)


def test_allowed_methods_work(env):
    assert env.evaluate("' a,b '.strip().upper().split(',')", {}) == ["A", "B"]
    assert env.evaluate("', '.join(sorted(d.keys()))", {"d": {"b": 1, "a": 2}}) == "a, b"
    assert env.evaluate("d.get('a', 0) + len(xs[1:])", {"d": {"a": 2}, "xs": [1, 2, 3]}) == 4
    assert env.evaluate("f'{total:.2f} грн'", {"total": 12.5}) == "12.50 грн"
    context = {"items": [1, 2, 3]}
    env.execute("total = 0\nfor i in items:\n    if i > 1:\n        total += i\nnames = [str(i) for i in items]", context)
    assert context["total"] == 5 and context["names"] == ["1", "2", "3"]
    assert env.evaluate("'a' in d and 3 in s and [1] in ls and 5 - 7 == -2", {"d": {"a": 1}, "s": {3}, "ls": [[1]]}) is True


# --- limits ------------------------------------------------------------------------------------

LIMIT_BREAKERS = {
    "10**10**8": "x = 10**10**8",
    "'a'*10**10": "x = 'a' * 10**10",
    "[0]*10**9": "x = [0] * 10**9",
    "1<<10**9": "x = 1 << 10**9",
    "nested loops": "for i in range(10**6):\n    for j in range(10**6):\n        pass",
    "range(10**12)": "x = sum(range(10**12))",
    "doubling a text": "x = 'a' * 1000\nfor i in range(40):\n    x = x + x",
    "doubling with +=": "x = [0] * 1000\nfor i in range(40):\n    x += x",
    "squaring a number": "x = 10\nfor i in range(40):\n    x = x * x",
    "join amplification": "x = ''.join(['a' * 100000] * 1000)",
    "replace amplification": "x = ('a' * 10000).replace('a', 'b' * 10000)",
    "shared lists as text": "row = [0] * 1000\nx = str([row for i in range(1000)])",
    "repeated list of lists": "x = [[0] * 1000] * 1000",
    "memory in a loop": "keep = []\nfor i in range(100000):\n    keep.append([0] * 100000)",
    "f-string of a huge list": "x = [0] * 1000000\ny = f'{[x, x]}'",
    "pow of a big base": "x = (2**14000) ** 2",
    "comparing nested copies": ("a = [0] * 1000\nb = [0] * 1000\nA = []\nB = []\nfor i in range(1000):\n"
                                "    A.append(a)\n    B.append(b)\nTA = []\nTB = []\nfor i in range(1000):\n"
                                "    TA.append(A)\n    TB.append(B)\nx = TA == TB"),
    "sorting nested copies": ("a = [0] * 1000\nA = []\nfor i in range(1000):\n    A.append(a)\n"
                              "T = []\nfor i in range(100):\n    T.append(A)\nx = sorted(T)"),
    "round to a huge precision": "x = round(5, -10**8)",
    "splitting in a loop": "s = 'a ' * 500000\nkeep = []\nfor i in range(1000):\n    keep.append(s.split())",
    "texts of a list in a loop": "L = [12345] * 100000\nkeep = []\nfor i in range(1000):\n    keep.append(str(L))",
    "round with a keyword": "x = round(5, ndigits=-10**8)",
    "sum with a keyword start": "a = [[0] * 1000]\nL = []\nfor i in range(1000):\n    L.append(a)\nx = sum(L, start=[])",
    "a number doubled by additions": "x = 1\nfor i in range(100000):\n    x = x + x",
    "a number doubled by subtractions": "x = 1\nfor i in range(100000):\n    x = x - -x",
    "hashing a doubled tuple": "t = (0,)\nfor i in range(40):\n    t = (t, t)\nd = {t: 1}",
    "a doubled tuple as a key": "t = (0,)\nfor i in range(40):\n    t = (t, t)\nd = {}\nd[t] = 1",
    "a doubled tuple in a set": "t = (0,)\nfor i in range(40):\n    t = (t, t)\ns = set()\ns.add(t)",
    "a doubled list compared": "t = [0]\nfor i in range(40):\n    t = [t, t]\nu = [0]\nfor i in range(40):\n    u = [u, u]\nx = t == u",
    "max of doubled lists": "t = [0]\nfor i in range(40):\n    t = [t, t]\nu = [0]\nfor i in range(40):\n    u = [u, u]\nx = max(*[t, u])",
    "sum of lists": "a = [[0] * 1000]\nL = []\nfor i in range(1000):\n    L.append(a)\nx = sum(L, [])",
}


@pytest.mark.parametrize("label", list(LIMIT_BREAKERS))
def test_each_limit_breaker_fails_fast_with_sandbox_limit_exceeded(env, label):
    context: dict = {}
    started = time.monotonic()
    with pytest.raises(SandboxLimitExceeded) as error:
        env.execute(LIMIT_BREAKERS[label], context)
    assert time.monotonic() - started < 2
    assert "перевищив обмеження" in error.value.message


def test_while_true_is_refused_before_it_runs():
    with pytest.raises(UnsafeExpression) as error:
        check_source("while True:\n    pass")
    assert "while" in error.value.message


def test_a_condition_with_a_huge_power_fails_fast_too(env):
    started = time.monotonic()
    with pytest.raises(SandboxLimitExceeded):
        env.evaluate("amount > 10**10**8", {"amount": 1})
    with pytest.raises(SandboxLimitExceeded):
        evaluate("9**9**9 > 1", {}, {})
    assert time.monotonic() - started < 2


def test_the_deadline_is_configurable_and_named_in_the_message(env, monkeypatch):
    monkeypatch.setattr(sandbox_guards.LIMITS, "timeout_ms", 50)
    monkeypatch.setattr(sandbox_guards.LIMITS, "max_iterations", 10**9)
    started = time.monotonic()
    with pytest.raises(SandboxLimitExceeded) as error:
        env.execute("for i in range(10**6):\n    for j in range(10**6):\n        x = i * j", {})
    assert time.monotonic() - started < 0.5
    assert "50 мс" in error.value.message


def test_configure_refuses_a_timeout_that_is_not_positive():
    with pytest.raises(ValueError):
        sandbox_guards.configure(timeout_ms=0)


def test_the_limit_error_is_an_ordinary_engine_error_with_its_code():
    assert issubclass(SandboxLimitExceeded, EngineError) and issubclass(SandboxLimitExceeded, Exception)
    assert SandboxLimitExceeded.code == "sandbox_limit"


def test_each_evaluation_gets_its_own_budget(env):
    """Many small evaluations in a row (a case's many conditions) never add up to a limit."""
    for _ in range(3):
        context: dict = {}
        env.execute("total = 0\nfor i in range(100000):\n    total += i", context)
        assert context["total"] == sum(range(100000))


def test_numbers_up_to_the_limit_are_computed():
    assert evaluate("2 ** 14000 > 10 ** 4000", {}, {}) is True
    assert evaluate("len('ab' * 400000)", {}, {}) == 800000


def test_the_deadline_comes_from_marshrut_script_timeout_ms():
    from marshrut.api.config import settings_from_env

    assert settings_from_env({}).script_timeout_ms == 1000
    assert settings_from_env({"MARSHRUT_SCRIPT_TIMEOUT_MS": "250"}).script_timeout_ms == 250


@pytest.mark.parametrize("source", ["x = " + "-" * 5000 + "1", "x = y" + " + y" * 6000, "x = " + "not " * 3000 + "y",
                                    "x = '" + "a" * 30000 + "'"])
def test_deeply_nested_or_huge_sources_are_refused_not_crashed(env, source):
    with pytest.raises(UnsafeExpression):
        check_source(source)
    with pytest.raises(UnsafeExpression):
        env.execute(source, {"y": 1})
