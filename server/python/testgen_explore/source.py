"""Source analysis: AST helpers, what a function's source says about good
inputs (FunctionFacts) and the literal calls written anywhere in the project
(CallSites)."""

import ast
import builtins
import collections
import dis
import enum
import os
import types


def dotted(node):
    """`a.b.c` of a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def resolve(name, namespace):
    """The object a dotted name refers to in a module namespace (getattr only)."""
    parts = name.split(".")
    if parts[0] in namespace:
        obj = namespace[parts[0]]
    elif hasattr(builtins, parts[0]):
        obj = getattr(builtins, parts[0])
    else:
        raise LookupError(name)
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


class Sources:
    """Parsed files, each parsed once per harness (None: unreadable or not
    Python)."""

    def __init__(self):
        self._trees = {}

    def parse(self, path):
        path = os.path.abspath(path)
        if path not in self._trees:
            try:
                with open(path, "rb") as f:
                    src = f.read()
                self._trees[path] = ast.parse(src, filename=path)
            except (OSError, SyntaxError, ValueError):
                self._trees[path] = None
        return self._trees[path]


def find_def(tree, name, lo, hi):
    """The (async) def called `name` starting in [lo, hi]; the one closest to lo."""
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if lo <= first <= hi or lo <= node.lineno <= hi:
                if best is None or abs(first - lo) < abs(best[0] - lo):
                    best = (first, node)
    return best[1] if best else None


def own_nodes(func_node):
    """The nodes of a function's body, not those of nested defs/classes."""
    stack = list(func_node.body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            stack.append(child)


def body_start(func_node):
    body = func_node.body
    first = body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str) and len(body) > 1):
        return body[1].lineno
    return first.lineno


def code_lines(code, lo, hi):
    """Statement lines of a code object within [lo, hi], nested functions
    included: they are never targets of their own (they are reached only
    through the function that defines them)."""
    out = set()
    for _, line in dis.findlinestarts(code):
        if line is not None and lo <= line <= hi:
            out.add(line)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= code_lines(const, lo, hi)
    return out


def mentions(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def literal_value(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


NO_VALUE = object()


def consts_of(node):
    """Constants a node stands for: a literal, or a container literal's elements."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [v for v in (literal_value(e) for e in node.elts) if v is not None]
    if isinstance(node, ast.Dict):
        return [v for v in (literal_value(k) for k in node.keys if k is not None) if v is not None]
    v = literal_value(node)
    if isinstance(v, (int, float, str, bytes)) and not isinstance(v, bool):
        return [v]
    if isinstance(v, (tuple, list, set, frozenset)):
        return [x for x in v if isinstance(x, (int, float, str, bytes))]
    return []


def _neighbours(v):
    if isinstance(v, bool):
        return [v]
    if isinstance(v, int):
        return [v - 1, v, v + 1]
    if isinstance(v, float):
        return [v - 1.0, v, v + 1.0]
    return [v]


class FunctionFacts:
    """What a function's source says about good inputs: constants, per-param
    constants, how unannotated params are used, dict keys looked up."""

    def __init__(self, func_node, namespace, params=None):
        self.node = func_node
        self.namespace = namespace or {}
        self.consts = []          # all constants (with boundary neighbours)
        self.param_consts = collections.defaultdict(list)
        self.usage = collections.defaultdict(set)   # param -> {'str', 'number', 'dict', ...}
        self.keys = collections.defaultdict(dict)   # param -> {key: (required, hint)}
        self.len_consts = collections.defaultdict(list)
        self.params = set()
        if func_node is not None:
            a = func_node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs + ([a.kwarg] if a.kwarg else []):
                self.params.add(arg.arg)
            if params is not None:
                # Route views: the "parameters" are the names bound to the
                # request's JSON body.
                self.params = set(params)
            self._scan()

    def _add(self, values, param=None, neighbours=True):
        for v in values:
            for n in (_neighbours(v) if neighbours else [v]):
                if n not in self.consts:
                    self.consts.append(n)
                if param and n not in self.param_consts[param]:
                    self.param_consts[param].append(n)

    def _params_in(self, node):
        return sorted(p for p in self.params if mentions(node, p))

    def _global_values(self, node):
        """Keys of a module-level dict or values of an Enum referenced by name."""
        name = dotted(node)
        if not name:
            return []
        try:
            obj = resolve(name, self.namespace)
        except Exception:
            return []
        if isinstance(obj, dict) and len(obj) <= 50:
            return [k for k in obj if isinstance(k, (str, int)) and not isinstance(k, bool)]
        if isinstance(obj, type) and issubclass(obj, enum.Enum):
            return [m.value for m in obj if isinstance(m.value, (str, int))]
        return []

    def _scan(self):
        parents = {}
        nodes = list(own_nodes(self.node))
        for node in nodes:
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in nodes:
            if isinstance(node, ast.Compare):
                sides = [node.left] + list(node.comparators)
                for i, side in enumerate(sides):
                    vals = consts_of(side)
                    if not vals:
                        vals = self._global_values(side) if isinstance(node.ops[max(i - 1, 0)], (ast.In, ast.NotIn)) else []
                    if not vals:
                        continue
                    others = [s for j, s in enumerate(sides) if j != i]
                    ps = sorted({p for o in others for p in self._params_in(o)})
                    self._add(vals)
                    for p in ps:
                        self._add(vals, p)
                    # len(x) <op> n: strings and lists of length n-1..n+1.
                    for o in others:
                        if (isinstance(o, ast.Call) and isinstance(o.func, ast.Name) and o.func.id == "len"
                                and o.args and isinstance(o.args[0], ast.Name)):
                            for v in vals:
                                if isinstance(v, int):
                                    self.len_consts[o.args[0].id].extend(_neighbours(v))
                for side in sides:
                    for p in self._params_in(side):
                        for other in sides:
                            if other is side:
                                continue
                            for v in consts_of(other):
                                if isinstance(v, str):
                                    self.usage[p].add("str")
                                elif isinstance(v, (int, float)):
                                    self.usage[p].add("number")
            elif isinstance(node, ast.Dict):
                self._add([k for k in consts_of(node) if isinstance(k, str)], neighbours=False)
            elif isinstance(node, ast.Subscript):
                idx = node.slice
                if isinstance(idx, ast.Index):  # Python 3.8
                    idx = idx.value
                vals = consts_of(idx) if isinstance(idx, ast.Constant) else []
                if isinstance(node.value, ast.Name) and node.value.id in self.params:
                    p = node.value.id
                    if vals and isinstance(vals[0], str):
                        self.usage[p].add("dict")
                        self._key(p, vals[0], True, self._key_hint(node, parents))
                    elif vals and isinstance(vals[0], int):
                        self.usage[p].add("list")
                    else:
                        self.usage[p].add("subscript")
                # GLOBAL_DICT[param...]: the dict's keys are good values.
                keys = self._global_values(node.value)
                for p in self._params_in(idx):
                    self._add([k for k in keys if isinstance(k, str)], p, neighbours=False)
                    if keys:
                        self.usage[p].add("str")
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Attribute):
                    recv = f.value
                    if isinstance(recv, ast.Name) and recv.id in self.params:
                        p = recv.id
                        if f.attr in STR_METHODS:
                            self.usage[p].add("str")
                        elif f.attr in ("get", "items", "keys", "values", "setdefault", "pop", "update"):
                            self.usage[p].add("dict")
                            if f.attr in ("get", "pop", "setdefault") and node.args:
                                k = literal_value(node.args[0])
                                if isinstance(k, str):
                                    self._key(p, k, False, self._key_hint(node, parents))
                        elif f.attr in ("append", "extend", "insert", "sort", "index", "count"):
                            self.usage[p].add("list")
                    # GLOBAL.get(param) and GLOBAL.get(param.upper())
                    if f.attr in ("get", "pop") and node.args:
                        keys = self._global_values(recv)
                        for p in self._params_in(node.args[0]):
                            self._add([k for k in keys if isinstance(k, str)], p, neighbours=False)
                # Enum(param): the enum's values.
                vals = self._global_values(f)
                if vals and isinstance(f, (ast.Name, ast.Attribute)):
                    try:
                        obj = resolve(dotted(f), self.namespace)
                    except Exception:
                        obj = None
                    if isinstance(obj, type) and issubclass(obj, enum.Enum):
                        self._add(vals, neighbours=False)
                        for a in node.args:
                            for p in self._params_in(a):
                                self._add(vals, p, neighbours=False)
                if dotted(f) in _OPENERS and node.args:
                    for p in self._params_in(node.args[0]):
                        self.usage[p].add("file")
                if (isinstance(f, ast.Attribute) and f.attr in _FILE_METHODS
                        and isinstance(f.value, ast.Name) and f.value.id in self.params):
                    self.usage[f.value.id].add("file")
                if isinstance(f, ast.Name) and f.id in ("int", "float") and node.args:
                    for p in self._params_in(node.args[0]):
                        self.usage[p].add("numstr")
                if isinstance(f, ast.Name) and f.id == "len" and node.args and isinstance(node.args[0], ast.Name):
                    self.usage[node.args[0].id].add("sized")
            elif isinstance(node, ast.BinOp):
                for side in (node.left, node.right):
                    if isinstance(side, ast.Name) and side.id in self.params:
                        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
                            continue
                        self.usage[side.id].add("number")
            elif isinstance(node, (ast.For, ast.comprehension)):
                it = node.iter
                if isinstance(it, ast.Name) and it.id in self.params:
                    self.usage[it.id].add("iter")
            if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                parent = parents.get(node)
                if isinstance(parent, (ast.Compare, ast.BinOp)):
                    self._add([node.value])

    def _key(self, param, key, required, hint):
        """Records a looked-up key; a subscript makes it required, and the
        most telling hint wins (an enum's values over 'some string')."""
        rank = {"enum": 3, "num": 2, "str": 1, None: 0}
        entry = self.keys[param].setdefault(key, [required, hint])
        entry[0] = entry[0] or required
        if rank.get(hint[0], 0) > rank.get(entry[1][0], 0):
            entry[1] = hint

    def _key_hint(self, node, parents):
        """How a looked-up key's value is used: 'enum:<values>', 'num', 'str'."""
        cur = node
        for _ in range(4):
            parent = parents.get(cur)
            if parent is None:
                break
            if isinstance(parent, ast.Call):
                name = dotted(parent.func)
                if name in ("int", "float"):
                    return ("num", None)
                if name and cur in parent.args:
                    try:
                        obj = resolve(name, self.namespace)
                    except Exception:
                        obj = None
                    if isinstance(obj, type) and issubclass(obj, enum.Enum):
                        return ("enum", [m.value for m in obj])
            if isinstance(parent, ast.Attribute) and parent.attr in STR_METHODS:
                hint = ("str", None)
                # keep walking: `Enum(row["k"].strip())` is an enum value
                cur = parent
                up = parents.get(cur)
                if isinstance(up, ast.Call):
                    cur = up
                    continue
                return hint
            cur = parent
        return (None, None)


# Calls whose first argument is a path or a descriptor, and methods only a
# file has: a parameter used so takes "a path or an open file".
_OPENERS = {"open", "io.open", "os.open", "os.fdopen", "codecs.open", "gzip.open", "bz2.open",
            "lzma.open", "Path", "pathlib.Path", "os.fspath"}
_FILE_METHODS = {"read", "readline", "readlines", "write", "writelines", "fileno", "seek", "tell",
                 "flush"}

STR_METHODS = {
    "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
    "endswith", "replace", "format", "encode", "isdigit", "isalpha", "isalnum", "isspace", "title",
    "capitalize", "casefold", "find", "rfind", "partition", "rpartition", "zfill", "center", "ljust",
    "rjust", "join", "isupper", "islower", "removeprefix", "removesuffix",
}


class CallSites:
    """Calls by name anywhere in the project (tests included): literal
    arguments people actually pass. Parsed once per harness."""

    def __init__(self, root, rules, sources):
        self.root = root
        self.rules = rules
        self.sources = sources
        self._by_name = None

    def _build(self):
        self._by_name = collections.defaultdict(list)
        count = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            # The project's rules skip testgen's own output too: a second run
            # must not learn from the first one's tests (same seed, same tests).
            rel = os.path.relpath(dirpath, self.root)
            parents = [] if rel == os.curdir else rel.split(os.sep)
            dirnames[:] = sorted(d for d in dirnames if not self.rules.skips_dir(self.root, parents + [d]))
            for fn in sorted(filenames):
                if not fn.endswith(".py"):
                    continue
                path = os.path.join(dirpath, fn)
                count += 1
                if count > 3000:
                    return
                try:
                    if os.path.getsize(path) > 1_000_000:
                        continue
                except OSError:
                    continue
                tree = self.sources.parse(path)
                if tree is None:
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, ast.Call):
                        f = node.func
                        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                        if name and len(self._by_name[name]) < 200:
                            self._by_name[name].append(node)

    def calls(self, name):
        if self._by_name is None:
            self._build()
        return self._by_name.get(name, [])
