"""Test names: what a test checks in words, e.g.
`test_apply_discount_raises_value_error_when_price_is_negative`, from the
outcome and the last branch decision the call took."""

import ast
import re

from .source import NO_VALUE, STR_METHODS, dotted, literal_value


def snake(name):
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def ident_words(text):
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def const_words(v):
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, (int, float)):
        s = ("minus_" if v < 0 else "") + str(abs(v)).replace(".", "_")
        return s
    if isinstance(v, str):
        w = ident_words(v)
        if w:
            return w
        return "empty" if v == "" else "_".join(_SYMBOL_WORDS.get(c, "symbol") for c in v[:3])
    if isinstance(v, bytes):
        return "bytes"
    return "value"


_SYMBOL_WORDS = {"-": "dash", "_": "underscore", "@": "at", ".": "dot", "/": "slash", " ": "space",
                 ",": "comma", ":": "colon", ";": "semicolon", "#": "hash", "+": "plus", "*": "star",
                 "=": "equals", "?": "question_mark", "!": "bang", "&": "ampersand", "%": "percent",
                 "\n": "newline", "\t": "tab", "$": "dollar", "|": "pipe"}

_OP_WORDS = {
    ast.Lt: "less_than", ast.LtE: "at_most", ast.Gt: "greater_than", ast.GtE: "at_least",
    ast.Eq: "is", ast.NotEq: "is_not", ast.In: "in", ast.NotIn: "not_in",
    ast.Is: "is", ast.IsNot: "is_not",
}
_INVERT = {
    ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BINOP_WORDS = {ast.Add: "plus", ast.Sub: "minus", ast.Mult: "times", ast.Div: "over",
                ast.FloorDiv: "over", ast.Mod: "mod"}


def expr_words(node, depth=0):
    if depth > 3:
        return ""
    if isinstance(node, ast.Name):
        return "" if node.id in ("self", "cls") else node.id
    if isinstance(node, ast.Attribute):
        base = expr_words(node.value, depth + 1)
        return "%s_%s" % (base, node.attr) if base else node.attr
    if isinstance(node, ast.Constant):
        return const_words(node.value)
    if isinstance(node, ast.Call):
        f = node.func
        fname = f.attr if isinstance(f, ast.Attribute) else expr_words(f, depth + 1)
        recv = expr_words(f.value, depth + 1) if isinstance(f, ast.Attribute) else ""
        args = [expr_words(a, depth + 1) for a in node.args[:2]]
        words = [w for w in [recv if fname in STR_METHODS or fname in ("get", "items") else "", fname] + args if w]
        if fname in STR_METHODS and recv:
            words = [recv]  # `x.lower() in (...)`: about x
        return "_".join(words)
    if isinstance(node, ast.Subscript):
        sl = node.slice
        if isinstance(sl, ast.Index):
            sl = sl.value
        return "_".join(w for w in [expr_words(node.value, depth + 1), expr_words(sl, depth + 1)] if w)
    if isinstance(node, ast.BinOp):
        return "_".join(w for w in [expr_words(node.left, depth + 1), _BINOP_WORDS.get(type(node.op), "op"),
                                    expr_words(node.right, depth + 1)] if w)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        elts = [expr_words(e, depth + 1) for e in node.elts[:3]]
        return "_".join(w for w in elts if w)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return "minus_" + expr_words(node.operand, depth + 1)
    return ""


def cond_words(node, negate=False):
    """Words for a branch condition as it was decided, e.g. `price < 0` taken
    → 'price_is_negative', not taken → 'price_is_not_negative'."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return cond_words(node.operand, not negate)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op = type(node.ops[0])
        if negate:
            op = _INVERT.get(op, op)
        left, right = node.left, node.comparators[0]
        lw = expr_words(left)
        rv = literal_value(right) if isinstance(right, (ast.Constant, ast.UnaryOp)) else NO_VALUE
        if rv is None and op in (ast.Is, ast.IsNot, ast.Eq, ast.NotEq):
            return "%s_%s" % (lw, "is_none" if op in (ast.Is, ast.Eq) else "is_not_none")
        if isinstance(rv, (int, float)) and not isinstance(rv, bool) and rv == 0:
            word = {ast.Lt: "is_negative", ast.GtE: "is_not_negative", ast.Gt: "is_positive",
                    ast.LtE: "is_not_positive", ast.Eq: "is_zero", ast.NotEq: "is_not_zero"}.get(op)
            if word:
                return "%s_%s" % (lw, word)
        if isinstance(rv, str) and rv == "" and op in (ast.Eq, ast.NotEq):
            return "%s_%s" % (lw, "is_empty" if op is ast.Eq else "is_not_empty")
        return "_".join(w for w in [lw, _OP_WORDS.get(op, "vs"), expr_words(right)] if w)
    if isinstance(node, ast.Compare) and len(node.ops) == 2 and all(
            isinstance(o, (ast.Lt, ast.LtE)) for o in node.ops):
        mid = expr_words(node.comparators[0])
        lo, hi = expr_words(node.left), expr_words(node.comparators[1])
        return "%s_%sbetween_%s_and_%s" % (mid, "not_" if negate else "", lo, hi)
    if isinstance(node, ast.BoolOp):
        # De Morgan: `a and b` not taken reads `not a or not b`.
        is_and = isinstance(node.op, ast.And) != negate
        joiner = "_and_" if is_and else "_or_"
        parts = []
        for w in (cond_words(v, negate) for v in node.values[:2]):
            if w and w not in parts:
                parts.append(w)
        return joiner.join(parts)
    words = expr_words(node)
    if not words:
        return ""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("any", "all", "isinstance", "callable", "hasattr"):
        return ("not_" if negate else "") + words
    return ("not_" if negate else "") + words if negate else words


def trim_words(text, limit=60):
    text = re.sub(r"_+", "_", text).strip("_")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind("_")] if "_" in cut else cut


class Decisions:
    """Branch points of a function's source: `if`/`while` tests and `except`
    clauses, to name a test after the last decision its call took."""

    def __init__(self, func_node):
        self.tests = {}     # line -> (test node, first line of the body)
        self.handlers = {}  # line -> handler
        self.branch_lines = set()
        if func_node is None:
            return
        for node in ast.walk(func_node):
            if isinstance(node, (ast.If, ast.While)):
                self.tests[node.lineno] = (node.test, node.body[0].lineno)
                self.branch_lines.add(node.lineno)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self.branch_lines.add(node.lineno)
            elif isinstance(node, ast.ExceptHandler):
                self.handlers[node.lineno] = node

    def last(self, order):
        """Words for the last decision in a line trace, or ''."""
        for i in range(len(order) - 1, -1, -1):
            ln = order[i]
            if ln in self.handlers:
                h = self.handlers[ln]
                t = h.type
                names = []
                for e in (t.elts if isinstance(t, ast.Tuple) else [t] if t is not None else []):
                    n = dotted(e)
                    if n:
                        names.append(snake(n.split(".")[-1]))
                return "%s_is_caught" % "_or_".join(names[:2]) if names else "an_error_is_caught"
            if ln in self.tests and i + 1 < len(order):
                test, body_first = self.tests[ln]
                nxt = order[i + 1]
                if nxt == ln:
                    continue
                return cond_words(test, negate=(nxt != body_first))
        return ""


def outcome_words(out, how=""):
    if out.kind == "raise":
        return "raises_" + snake(type(out.exc).__name__)
    if how in ("setter", "deleter"):
        return "sets_value" if how == "setter" else "deletes_value"
    v = out.value
    if how in ("list", "asynclist"):
        return "yields_nothing" if not v else "yields_%d_items" % len(v) if len(v) > 1 else "yields_one_item"
    if v is None:
        return "returns_none"
    if isinstance(v, bool):
        return "returns_%s" % str(v).lower()
    if isinstance(v, (str, bytes, list, dict, tuple, set)) and len(v) == 0:
        return "returns_empty_%s" % type(v).__name__
    return "returns_" + snake(type(v).__name__)


def unique_name(base, used):
    base = re.sub(r"_+", "_", base.lower())[:110].rstrip("_")
    name = base
    n = 2
    while name in used:
        name = "%s_%d" % (base, n)
        n += 1
    used.add(name)
    return name


def mangled(cls, name):
    """The attribute a class keeps for a name written in its body: private
    names (`__find`, not `__init__`) are stored as `_Cls__find`."""
    if name.startswith("__") and not name.endswith("__") and cls.__name__.strip("_"):
        return "_%s%s" % (cls.__name__.lstrip("_"), name)
    return name
