"""GitHub Actions' `${{ }}` expressions, evaluated with the runner's rules:
literals, contexts (`inputs`, `github`, `steps`, `runner`, `env`, `matrix`,
`secrets`, `needs`) read case-insensitively (a missing property is null),
`!`, `==`/`!=` (strings compared case-insensitively, mixed types coerced to
numbers), `<`/`>`/`<=`/`>=`, `&&`/`||` returning an operand, and the
functions format, contains, startsWith, endsWith, join, toJSON, fromJSON,
success, always, failure, cancelled.
"""

import json
import re

class ExprError(Exception):
    pass


TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|0x[0-9a-fA-F]+)"
    r"|(?P<str>'(?:[^']|'')*')"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[!<>()\[\],.*])"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


def tokenize(text):
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"cannot read {text[pos:]!r}")
        pos = m.end()
        kind = m.lastgroup
        out.append((kind, m.group(kind)))
    return out


def truthy(v):
    if isinstance(v, float) and v != v:
        return False
    return v not in (None, False, 0, "") or isinstance(v, (dict, list))


def to_number(v):
    if v is None:
        return 0
    if isinstance(v, bool):
        return 1 if v else 0
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0
        try:
            return int(s, 0) if s.lower().startswith("0x") else float(s)
        except ValueError:
            return float("nan")
    return float("nan")


def to_string(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def equal(a, b):
    if type(a) is not type(b) and not (
        isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool)
    ):
        return to_number(a) == to_number(b)
    if isinstance(a, str):
        return a.lower() == b.lower()
    return a == b


class Evaluator:
    """A recursive-descent reader of one expression, evaluating as it goes
    (both sides are evaluated: no side effects exist to skip)."""

    def __init__(self, contexts, status):
        self.contexts = contexts
        self.status = status

    def eval(self, text):
        self.tokens = tokenize(text)
        self.i = 0
        v = self.or_()
        if self.i != len(self.tokens):
            raise ExprError(f"unexpected {self.tokens[self.i][1]!r} in {text!r}")
        return v

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if value is not None and tok[1] != value:
            raise ExprError(f"expected {value!r}, found {tok[1]!r}")
        self.i += 1
        return tok

    def or_(self):
        v = self.and_()
        while self.peek()[1] == "||":
            self.take()
            r = self.and_()
            v = v if truthy(v) else r
        return v

    def and_(self):
        v = self.cmp()
        while self.peek()[1] == "&&":
            self.take()
            r = self.cmp()
            v = r if truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        while self.peek()[1] in ("==", "!=", "<", ">", "<=", ">="):
            op = self.take()[1]
            r = self.unary()
            if op == "==":
                v = equal(v, r)
            elif op == "!=":
                v = not equal(v, r)
            else:
                a, b = (v, r) if isinstance(v, str) and isinstance(r, str) else (to_number(v), to_number(r))
                v = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return v

    def unary(self):
        if self.peek()[1] == "!":
            self.take()
            return not truthy(self.unary())
        return self.postfix()

    def postfix(self):
        v = self.primary()
        while self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name" and name != "*":
                    raise ExprError(f"bad property {name!r}")
                v = index(v, name)
            else:
                key = self.or_()
                self.take("]")
                v = index(v, to_string(key))
        return v

    def primary(self):
        kind, text = self.take()
        if kind == "num":
            return to_number(text)
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if text == "(":
            v = self.or_()
            self.take(")")
            return v
        if kind != "name":
            raise ExprError(f"unexpected {text!r}")
        if text in ("true", "false"):
            return text == "true"
        if text == "null":
            return None
        if self.peek()[1] == "(":
            self.take()
            args = []
            while self.peek()[1] != ")":
                args.append(self.or_())
                if self.peek()[1] == ",":
                    self.take()
            self.take(")")
            return self.call(text, args)
        if text not in self.contexts:
            raise ExprError(f"unknown context {text!r}")
        return self.contexts[text]

    def call(self, name, args):
        n = name.lower()
        if n == "success":
            return self.status == "success"
        if n == "always":
            return True
        if n == "failure":
            return self.status == "failure"
        if n == "cancelled":
            return False
        if n == "format":
            values = [to_string(a) for a in args[1:]]
            return re.sub(
                r"\{\{|\}\}|\{(\d+)\}",
                lambda m: "{" if m.group(0) == "{{" else "}" if m.group(0) == "}}" else values[int(m.group(1))],
                to_string(args[0]),
            )
        if n == "contains":
            hay, needle = args
            if isinstance(hay, list):
                return any(equal(x, needle) for x in hay)
            return to_string(needle).lower() in to_string(hay).lower()
        if n == "startswith":
            return to_string(args[0]).lower().startswith(to_string(args[1]).lower())
        if n == "endswith":
            return to_string(args[0]).lower().endswith(to_string(args[1]).lower())
        if n == "join":
            sep = to_string(args[1]) if len(args) > 1 else ","
            return sep.join(to_string(x) for x in args[0]) if isinstance(args[0], list) else to_string(args[0])
        if n == "tojson":
            return json.dumps(args[0], indent=2)
        if n == "fromjson":
            return json.loads(to_string(args[0]))
        raise ExprError(f"function {name} is not emulated")


def index(v, key):
    if isinstance(v, dict):
        for k, x in v.items():
            if k.lower() == key.lower():
                return x
        return None
    if isinstance(v, list) and key.isdigit():
        return v[int(key)] if int(key) < len(v) else None
    return None


EXPR = re.compile(r"\$\{\{((?:(?!\}\}).)*)\}\}", re.S)


def interpolate(text, ev):
    """A string with `${{ }}` in it; a string that is one expression alone
    keeps the expression's type (as the runner does for `if:` and inputs)."""
    if not isinstance(text, str):
        return text
    whole = EXPR.fullmatch(text.strip())
    if whole:
        return ev.eval(whole.group(1))
    return EXPR.sub(lambda m: to_string(ev.eval(m.group(1))), text)


STATUS_FUNCTIONS = re.compile(r"\b(success|always|failure|cancelled)\s*\(", re.I)


def condition(cond, ev):
    """A step's or job's `if:`: `${{ }}` optional, and without a status
    function it means `success() && (...)`, as the runner reads it."""
    if cond is None:
        return ev.status == "success"
    if isinstance(cond, bool):
        return cond and ev.status == "success"
    text = str(cond).strip()
    inner = EXPR.fullmatch(text)
    text = inner.group(1) if inner else text
    if not STATUS_FUNCTIONS.search(text):
        text = f"success() && ({text})"
    return truthy(ev.eval(text))
