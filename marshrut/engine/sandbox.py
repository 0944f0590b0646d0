"""The sandbox that diagram scripts, conditions, timer expressions and DMN cells run in.

A diagram is data from a person, not code from the team (SPEC §8). What runs from it is a
small grammar, allowed node type by node type (:data:`ALLOWED_NODES`); everything else —
``match``, ``def``/``lambda``/``class``, generators, ``while``, ``try``, imports, walrus —
is refused before anything runs. Names starting with ``_`` are refused, and so are string
constants that hold a dunder. Attribute access is rewritten into a call of
:func:`engine.sandbox_guards.attr`, which allows only listed methods of listed types, so
``().__class__``, ``int.mro()``, ``x.gi_frame`` and ``"{0.__class__}".format`` have nothing
to reach. ``**``, ``*``, ``<<``, ``+``, ``%``, slices, loops, comprehensions and calls are
rewritten into guards that bound number size, sequence size, iterations and time
(:mod:`engine.sandbox_guards`). Why an own checker and not a library: docs/sandbox.md.
"""

import ast
from functools import lru_cache
from typing import Any

from marshrut.engine.sandbox_guards import ALLOWED_ATTRIBUTE_NAMES, DATA_ATTRIBUTES, GUARD_NAMES, UnsafeExpression

#: Longest source text a diagram may carry in one script or expression.
MAX_SOURCE_CHARS = 20_000
#: How deep an expression may nest (real ones stay under 30). Set explicitly: whether the parser
#: itself gives up (RecursionError) depends on the Python version — 3.13's parses 5,000 levels.
MAX_NESTING = 100

ALLOWED_NODES: frozenset[type] = frozenset({
    ast.Module, ast.Expression, ast.Expr, ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Break,
    ast.Continue, ast.Pass, ast.Name, ast.Load, ast.Store, ast.Constant, ast.JoinedStr,
    ast.FormattedValue, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp, ast.BoolOp,
    ast.Compare, ast.IfExp, ast.Call, ast.keyword, ast.Attribute, ast.Subscript, ast.Slice,
    ast.Starred, ast.ListComp, ast.SetComp, ast.DictComp, ast.comprehension,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift,
    ast.BitAnd, ast.BitOr, ast.BitXor, ast.USub, ast.UAdd, ast.Not, ast.Invert, ast.And, ast.Or,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
})

#: Why a node the grammar leaves out is refused, for the analyst (others get a generic text).
REFUSAL_REASONS: dict[type, str] = {
    ast.Match: "оператор match (через шаблони класів читає будь-які атрибути)",
    ast.While: "цикл while (використайте for по списку)",
    ast.FunctionDef: "оголошення функцій (def)", ast.Lambda: "lambda", ast.ClassDef: "оголошення класів",
    ast.GeneratorExp: "генератор-вираз (дає доступ до кадрів виконання; використайте [ ... ])",
    ast.Import: "import", ast.ImportFrom: "import", ast.Try: "try/except", ast.With: "with",
    ast.Raise: "raise", ast.NamedExpr: "оператор :=", ast.Global: "global", ast.Nonlocal: "nonlocal",
    ast.Delete: "del", ast.Yield: "yield", ast.YieldFrom: "yield", ast.Await: "await",
    ast.MatMult: "оператор @", ast.Assert: "assert",
}

#: Helpers and builtins a diagram may call by name (the evaluator provides them).
HELPER_NAMES = frozenset({"now", "today", "next_committee_meeting"})
BUILTIN_NAMES = frozenset({
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len", "list",
    "max", "min", "range", "round", "set", "sorted", "str", "sum", "tuple", "zip",
    "True", "False", "None",
})
#: What a diagram may call by name; a method of an allowed value is the only other callee.
CALLABLE_NAMES = (BUILTIN_NAMES | HELPER_NAMES) - {"True", "False", "None"}
#: Names the engine puts into every case's data (engine/cases.py).
ENGINE_VARIABLES = frozenset({"received_at", "received_date", "target_due", "legal_due"})


def _refuse(source: str, what: str, node: ast.AST | None = None) -> UnsafeExpression:
    where = f" (рядок {node.lineno})" if node is not None and getattr(node, "lineno", None) else ""
    short = source if len(source) <= 200 else source[:200] + "…"
    return UnsafeExpression(f"У виразі «{short}»{where} заборонено {what}")


def parse(source: str, mode: str = "exec") -> ast.AST:
    """Parse ``source`` and refuse what the grammar does not allow.

    :raise UnsafeExpression: on a syntax error or any construct outside the grammar.
    """
    if not isinstance(source, str):
        raise UnsafeExpression(f"Вираз має бути текстом, а не {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        raise UnsafeExpression(f"Вираз довший за {MAX_SOURCE_CHARS} символів")
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as err:
        raise UnsafeExpression(f"Синтаксична помилка у виразі «{source[:200]}»: {err.msg}") from err
    except (RecursionError, MemoryError, ValueError) as err:
        raise UnsafeExpression(f"Вираз «{source[:200]}» надто глибоко вкладений або некоректний") from err
    if _nesting(tree) > MAX_NESTING:
        raise UnsafeExpression(f"Вираз «{source[:200]}» вкладений глибше ніж {MAX_NESTING} рівнів")
    for node in ast.walk(tree):
        _check_node(source, node)
    _check_functions_only_called(source, tree)
    return tree


def _nesting(tree: ast.AST) -> int:
    """The depth of ``tree``, walked without recursion (the tree may be thousands deep)."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        pending.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


#: Types that may stand as values in ``isinstance(x, int)`` (and nowhere else as values).
TYPE_NAMES = frozenset({"bool", "int", "float", "str", "list", "dict", "set", "tuple"})


def _check_functions_only_called(source: str, tree: ast.AST) -> None:
    """A function may be called, not passed around (``sorted(x, key=str)`` would call it where
    no guard sees); the one exception is a type as ``isinstance``'s second argument."""
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            allowed.add(id(node.func))
            if isinstance(node.func, ast.Name) and node.func.id == "isinstance" and len(node.args) == 2:
                second = node.args[1]
                for part in (second.elts if isinstance(second, ast.Tuple) else [second]):
                    if isinstance(part, ast.Name) and part.id in TYPE_NAMES:
                        allowed.add(id(part))
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in CALLABLE_NAMES and id(node) not in allowed:
            raise _refuse(source, f"передавати функцію «{node.id}» як значення (її можна лише викликати)", node)
        if isinstance(node, ast.Attribute) and node.attr not in DATA_ATTRIBUTES and id(node) not in allowed:
            raise _refuse(source, f"передавати метод «{node.attr}» як значення (його можна лише викликати)", node)


def _check_node(source: str, node: ast.AST) -> None:
    kind = type(node)
    if kind not in ALLOWED_NODES:
        reason = REFUSAL_REASONS.get(kind) or f"конструкцію {kind.__name__}"
        raise _refuse(source, reason, node)
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        raise _refuse(source, f"ім'я «{node.id}» (імена з «_» недоступні)", node)
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_") or node.attr not in ALLOWED_ATTRIBUTE_NAMES:
            raise _refuse(source, f"атрибут «{node.attr}» (дозволені лише методи зі списку docs/sandbox.md)", node)
        if not isinstance(node.ctx, ast.Load):
            raise _refuse(source, f"змінювати атрибут «{node.attr}»", node)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (bytes, complex)) or node.value is Ellipsis:
            raise _refuse(source, f"константу {node.value!r}", node)
        if isinstance(node.value, str) and "__" in node.value:
            raise _refuse(source, "рядок із «__» (подвійне підкреслення)", node)
    if isinstance(node, ast.FormattedValue):
        if node.conversion != -1:
            raise _refuse(source, "перетворення !r/!s/!a у f-рядку", node)
        if node.format_spec is not None and not _simple_format_spec(node.format_spec):
            raise _refuse(source, "такий формат у f-рядку (дозволено, напр., {x:.2f} або {x:,})", node)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id not in CALLABLE_NAMES:
            raise _refuse(source, f"виклик «{node.func.id}» (дозволені функції: {', '.join(sorted(CALLABLE_NAMES))})", node)
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            raise _refuse(source, "виклик результату виразу (викликайте функцію або метод за назвою)", node)
    if isinstance(node, ast.comprehension) and node.is_async:
        raise _refuse(source, "async", node)
    if isinstance(node, ast.keyword) and (node.arg is None or node.arg.startswith("_")):
        raise _refuse(source, f"аргумент «{node.arg or '**'}»", node)
    if isinstance(node, ast.Dict) and None in node.keys:
        raise _refuse(source, "розпакування **", node)


def _simple_format_spec(spec: ast.AST) -> bool:
    """A constant spec without a width above two digits: ``.2f``, ``,``, ``>10``, ``05d``."""
    if not (isinstance(spec, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in spec.values)):
        return False
    text = "".join(str(v.value) for v in spec.values)
    digits = "".join(c if c.isdigit() else " " for c in text).split()
    return len(text) <= 12 and all(len(d) <= 2 for d in digits)


def names_used(tree: ast.AST) -> list[tuple[str, int]]:
    """Names read in ``tree`` that nothing earlier in it assigned, with their line.

    A script's own assignments, loop and comprehension targets count as defined from the
    line they appear on (a simple, conservative reading: an ``if`` branch defines too).
    """
    assigned: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.comprehension):
            assigned |= {n.id for n in ast.walk(node.target) if isinstance(n, ast.Name)}
    free: list[tuple[str, int]] = []
    statements = tree.body if isinstance(tree, ast.Module) else [tree]
    for statement in statements:
        _collect(statement, assigned, free)
    return free


def _collect(statement: ast.AST, assigned: set[str], free: list[tuple[str, int]]) -> None:
    stores = {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    if isinstance(statement, (ast.For, ast.If)):
        # a loop's target and a branch's assignments are visible in the statements inside it
        assigned |= {n.id for n in ast.walk(getattr(statement, "target", ast.Pass())) if isinstance(n, ast.Name)}
        for name, line in _loads(getattr(statement, "iter", None) or statement.test):
            if name not in assigned:
                free.append((name, line))
        for inner in [*statement.body, *statement.orelse]:
            _collect(inner, assigned, free)
    else:
        if isinstance(statement, ast.AugAssign) and isinstance(statement.target, ast.Name):
            if statement.target.id not in assigned:
                free.append((statement.target.id, statement.lineno))
        for name, line in _loads(statement):
            if name not in assigned:
                free.append((name, line))
    assigned |= stores


def _loads(node: ast.AST) -> list[tuple[str, int]]:
    return [(n.id, n.lineno) for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]


class _Guarding(ast.NodeTransformer):
    """Rewrites checked code so that every risky operation goes through a guard."""

    BINARY = {ast.Pow: "pow", ast.Mult: "mul", ast.LShift: "lshift", ast.Add: "add", ast.Sub: "sub", ast.Mod: "mod"}

    def _guard(self, name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
        call = ast.Call(func=ast.Name(id=GUARD_NAMES[name], ctx=ast.Load()), args=args, keywords=[])
        return ast.copy_location(call, like)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = self.BINARY.get(type(node.op))
        return self._guard(name, [node.left, node.right], node) if name else node

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        name = self.BINARY.get(type(node.op))
        if name is None:
            return node
        read = _as_load(node.target)
        value = self._guard(name, [read, node.value], node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        return self._guard("attr", [node.value, ast.Constant(node.attr)], node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.slice, ast.Slice):
            return self._guard("sized", [node], node) if isinstance(node.ctx, ast.Load) else node
        node.slice = self._hashed(node.slice)  # a dict key is hashed: a nested tuple costs its whole size
        return node

    def _hashed(self, node: ast.expr) -> ast.expr:
        return self._guard("compared", [node], node)

    def visit_Dict(self, node: ast.Dict) -> ast.AST:
        self.generic_visit(node)
        node.keys = [self._hashed(key) for key in node.keys]
        return node

    def visit_Set(self, node: ast.Set) -> ast.AST:
        self.generic_visit(node)
        node.elts = [self._hashed(element) for element in node.elts]
        return node

    def visit_DictComp(self, node: ast.DictComp) -> ast.AST:
        self.generic_visit(node)
        node.key = self._hashed(node.key)
        return node

    def visit_SetComp(self, node: ast.SetComp) -> ast.AST:
        self.generic_visit(node)
        node.elt = self._hashed(node.elt)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return self._guard("call", [node.func, *node.args], node) if not node.keywords else ast.copy_location(
            ast.Call(func=ast.Name(id=GUARD_NAMES["call"], ctx=ast.Load()), args=[node.func, *node.args],
                     keywords=node.keywords), node)

    def visit_For(self, node: ast.For) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._guard("iterate", [node.iter], node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.iter = self._guard("iterate", [node.iter], node.iter)
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        node.left = self._guard("compared", [node.left], node.left)
        node.comparators = [
            self._guard("compared", [c, ast.Constant(isinstance(op, (ast.In, ast.NotIn)))], c)
            for op, c in zip(node.ops, node.comparators)
        ]
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        node.value = self._guard("formatted", [node.value], node.value)
        return node


def _as_load(target: ast.expr) -> ast.expr:
    if isinstance(target, ast.Name):
        return ast.Name(id=target.id, ctx=ast.Load())
    if isinstance(target, ast.Subscript):
        return ast.Subscript(value=target.value, slice=target.slice, ctx=ast.Load())
    raise UnsafeExpression("Складене присвоєння дозволене лише змінній або елементу")


@lru_cache(maxsize=4096)
def compiled(source: str, mode: str) -> Any:
    """``source`` checked by :func:`parse`, guarded and compiled, once per text.

    :raise UnsafeExpression: as :func:`parse` (not cached: asked again, refused again).
    """
    tree = parse(source, mode=mode)
    try:
        guarded = ast.fix_missing_locations(_Guarding().visit(tree))
        return compile(guarded, "<expression>" if mode == "eval" else "<script>", mode)
    except (RecursionError, MemoryError) as err:
        raise UnsafeExpression(f"Вираз «{source[:200]}» надто глибоко вкладений") from err
