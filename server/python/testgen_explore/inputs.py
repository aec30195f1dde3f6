"""Structured inputs: strings derived from what the target's own source
says about its text (the regexes it matches, the prefixes it checks, the
separators it splits or counts on), mutated to cross each branch (a
separator repeated, a part dropped, case swapped), and numbers that reach
a loop's inner branch (composites, multiples of the moduli it tests)."""

import ast
import warnings

from .source import dotted, literal_value, own_nodes, resolve

try:  # Python 3.11+
    import re._parser as _sre
    import re._constants as _src
except ImportError:  # pragma: no cover - older interpreters
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import sre_parse as _sre
        import sre_constants as _src

_RE_FUNCS = {"match", "fullmatch", "search", "compile", "findall", "finditer", "split", "sub"}
_SEP_METHODS = {"split", "rsplit", "partition", "rpartition", "count", "find", "rfind", "index", "rindex"}
_MAX_EXAMPLES = 12
# Ints whose divisors are not trivial: a trial-division loop's inner branch
# (`if n % d == 0`) needs one; small primes leave the loop at its bound.
_COMPOSITES = [4, 9, 12, 15, 25, 49]


class _Gen:
    """Examples of one regex: the first alternative of each choice, minimum
    repeats (at least one), then one variant per choice point."""

    def __init__(self):
        self.groups = {}

    def text(self, items, choice):
        out = []
        for op, av in items:
            out.append(self.one(op, av, choice))
        return "".join(out)

    def one(self, op, av, choice):
        name = str(op)
        if name == "LITERAL":
            return chr(av)
        if name == "NOT_LITERAL":
            return "a" if chr(av) != "a" else "b"
        if name == "ANY":
            return "a"
        if name == "IN":
            return self.in_char(av, choice)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            n = max(lo, 1) if choice.get(id(av)) is None else (lo if choice[id(av)] == "min" else min(max(lo, 1) + 1, hi))
            return "".join(self.text(sub, choice) for _ in range(min(n, 20)))
        if name == "SUBPATTERN":
            sub = av[-1]
            txt = self.text(sub, choice)
            if av[0] is not None:
                self.groups[av[0]] = txt
            return txt
        if name == "BRANCH":
            alts = av[1]
            i = choice.get(id(av), 0)
            return self.text(alts[min(i, len(alts) - 1)], choice)
        if name == "GROUPREF":
            return self.groups.get(av, "")
        if name in ("ATOMIC_GROUP",):
            return self.text(av, choice)
        return ""  # AT (anchors), ASSERT, ASSERT_NOT, GROUPREF_EXISTS...

    def in_char(self, items, choice):
        negate = any(str(op) == "NEGATE" for op, _ in items)
        if negate:
            banned = set()
            for op, av in items:
                if str(op) == "LITERAL":
                    banned.add(chr(av))
            for c in "a1 -_.":
                if c not in banned:
                    return c
            return "z"
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                return chr(av)
            if name == "RANGE":
                return chr(av[0])
            if name == "CATEGORY":
                cat = str(av)
                if "DIGIT" in cat:
                    return "1" if "NOT" not in cat else "a"
                if "SPACE" in cat:
                    return " " if "NOT" not in cat else "a"
                if "WORD" in cat:
                    return "a" if "NOT" not in cat else "-"
        return "a"


def _choice_points(items, out):
    for op, av in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, hi, sub = av
            if lo == 0:
                out.append((id(av), "min"))
            elif hi > lo:
                out.append((id(av), "more"))
            _choice_points(sub, out)
        elif name == "SUBPATTERN":
            _choice_points(av[-1], out)
        elif name == "BRANCH":
            for i in range(1, len(av[1])):
                out.append((id(av), i))
            for alt in av[1]:
                _choice_points(alt, out)


def regex_examples(pattern):
    """Strings the pattern matches (the simplest, then one per optional part
    or alternative), or [] when it does not parse."""
    if isinstance(pattern, bytes):
        return []
    try:
        parsed = _sre.parse(pattern)
    except Exception:
        return []
    items = list(parsed)
    out = []
    points = []
    _choice_points(items, points)
    for choice in [{}] + [{k: v} for k, v in points]:
        try:
            s = _Gen().text(items, choice)
        except Exception:
            continue
        if s not in out:
            out.append(s)
        if len(out) >= _MAX_EXAMPLES:
            break
    return out


def _patterns(node, namespace):
    """Regex patterns the function uses: literal ones passed to re.*, and
    compiled module-level patterns it calls methods of."""
    out = []
    for n in own_nodes(node):
        if not isinstance(n, ast.Call) or not isinstance(n.func, ast.Attribute):
            continue
        name = dotted(n.func) or ""
        if name.startswith("re.") and n.func.attr in _RE_FUNCS and n.args:
            v = literal_value(n.args[0])
            if isinstance(v, str):
                out.append(v)
            continue
        if n.func.attr in _RE_FUNCS:
            recv = dotted(n.func.value)
            if not recv:
                continue
            try:
                obj = resolve(recv, namespace)
            except Exception:
                continue
            pat = getattr(obj, "pattern", None)
            if isinstance(pat, str) and hasattr(obj, "fullmatch"):
                out.append(pat)
    return out


def _text_checks(node):
    """(prefixes, suffixes, separators) the function checks its text for."""
    prefixes, suffixes, seps = [], [], []

    def add(lst, v):
        if isinstance(v, str) and v and v not in lst and len(v) <= 20:
            lst.append(v)

    nodes = sorted(own_nodes(node), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)))
    for n in nodes:
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
            v = literal_value(n.args[0])
            vals = v if isinstance(v, tuple) else (v,)
            for x in vals:
                if n.func.attr == "startswith":
                    add(prefixes, x)
                elif n.func.attr == "endswith":
                    add(suffixes, x)
                elif n.func.attr in _SEP_METHODS:
                    add(seps, x)
        elif isinstance(n, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops):
            v = literal_value(n.left)
            if isinstance(v, str) and len(v) <= 3:
                add(seps, v)
    return prefixes, suffixes, seps


def _mutations(s):
    out = []
    if len(s) > 1:
        out.append(s[:-1])
    if s.swapcase() != s:
        out.append(s.swapcase())
    return out


def _composed(prefixes, suffixes, seps):
    """Text built from the checks: parts joined by each separator in turn,
    then each separator doubled or left out and each part emptied."""
    if not (prefixes or suffixes or seps):
        return []
    seps = seps[:4]
    parts = ["abc"] + ["xyz"] * len(seps)
    base = parts[0] + "".join(s + p for s, p in zip(seps, parts[1:]))
    out = [base]
    for i, sep in enumerate(seps):
        out.append(base.replace(sep, sep + sep, 1))
        out.append(base.replace(sep, "", 1))
        out.append(base.replace(sep + parts[i + 1], sep, 1) if i + 1 < len(parts) else base)
    if seps:
        out.append(seps[0] + base)  # an empty first part
    for p in prefixes[:3]:
        out += [p + x for x in list(out[:4])] + [p]
    for sfx in suffixes[:3]:
        out += [x + sfx for x in list(out[:3])]
    return out


def structured_strings(node, namespace):
    """Strings for a function's text parameters, best first, deduplicated."""
    if node is None:
        return []
    out = []
    for pat in _patterns(node, namespace or {})[:4]:
        ex = regex_examples(pat)
        out += ex
        if ex:
            out += _mutations(ex[0])
    out += _composed(*_text_checks(node))
    seen, uniq = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            uniq.append(s)
    return uniq[:24]


def structured_ints(node):
    """Ints for a function whose body takes a modulus or loops up to a bound:
    composites and multiples of the constant moduli."""
    if node is None:
        return []
    moduli, loops = [], False
    for n in own_nodes(node):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod):
            v = literal_value(n.right)
            if isinstance(v, int) and not isinstance(v, bool) and 1 < v <= 1000:
                moduli.append(v)
            elif isinstance(n.right, ast.Name) and not isinstance(n.left, ast.Constant):
                loops = True
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "range":
            loops = loops or any(isinstance(a, ast.Name) for a in n.args)
    out = []
    prod = 1
    for m in sorted(set(moduli)):
        out += [m * 2, m * 3 + 1]
        prod *= m
    if len(set(moduli)) > 1 and prod <= 10 ** 6:
        out.append(prod)
    if loops:
        out += _COMPOSITES
    return list(dict.fromkeys(out))
