"""First-order mutants of a target's own source, Pynguin's way of telling
strong assertions from weak ones: each mutant swaps one operator, constant
or condition of the function (or returns None), is compiled for the same
module and swapped in as the function's code while a kept test's call
sequence is replayed (inside the same guard as every candidate), and the
assertions whose observed value changes are the ones that kill it.

Deterministic: sites in source order, the same spread of them under a cap.
Nothing here decides what a test asserts; observe.py does, from the kills."""

import ast
import copy
import inspect

MAX_MUTANTS = 20

_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
           ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
           ast.LShift: ast.RShift, ast.RShift: ast.LShift, ast.BitAnd: ast.BitOr,
           ast.BitOr: ast.BitAnd, ast.BitXor: ast.BitAnd}
_CMPOPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
           ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
           ast.In: ast.NotIn, ast.NotIn: ast.In}
_BOOLOPS = {ast.And: ast.Or, ast.Or: ast.And}
_KIND_FLAGS = (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ASYNC_GENERATOR
               | inspect.CO_VARARGS | inspect.CO_VARKEYWORDS)
_NESTED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
# What a mutant must not be let near: files, processes, the network.
_TOUCHING = {"open", "write_text", "write_bytes", "unlink", "mkdir", "makedirs", "rmdir", "rename",
             "rmtree", "touch", "system", "popen", "Popen", "check_call", "check_output", "kill", "fork",
             "urlopen", "chmod", "chown", "symlink", "copyfile", "truncate", "spawn"}
_TOUCHING_MODULES = {"os", "shutil", "subprocess", "socket", "pathlib", "tempfile", "io", "sqlite3",
                     "requests", "httpx", "urllib", "pickle", "shelve"}


class Site:
    """One place a mutant changes: the index of its node in `walk` order,
    what is done there, and the line of the statement that holds it."""

    def __init__(self, index, op, line, label):
        self.index = index
        self.op = op
        self.line = line
        self.label = label


def walk(func_node):
    """The nodes of a function's body in source order (pre-order), nested
    defs and annotations left out, (node, statement line) pairs."""
    body = list(func_node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring
    out = []

    def visit(node, line):
        if isinstance(node, ast.stmt):
            line = node.lineno
        out.append((node, line))
        for name, value in ast.iter_fields(node):
            if name in ("annotation", "returns", "type_comment"):
                continue
            if isinstance(node, ast.JoinedStr):
                continue  # an f-string's literal parts
            for child in (value if isinstance(value, list) else [value]):
                if isinstance(child, ast.AST) and not isinstance(child, _NESTED):
                    visit(child, line)

    for stmt in body:
        visit(stmt, stmt.lineno)
    return out


def _ops_at(node):
    """The mutations of one node: [(op, label)]."""
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOPS:
        new = _BINOPS[type(node.op)]
        return [(("op", new), "%s -> %s" % (type(node.op).__name__, new.__name__))]
    if isinstance(node, ast.Compare):
        return [(("cmp", i, _CMPOPS[type(o)]), "%s -> %s" % (type(o).__name__, _CMPOPS[type(o)].__name__))
                for i, o in enumerate(node.ops) if type(o) in _CMPOPS]
    if isinstance(node, ast.BoolOp):
        new = _BOOLOPS[type(node.op)]
        return [(("op", new), "%s -> %s" % (type(node.op).__name__, new.__name__))]
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool):
            return [(("const", not v), "%r -> %r" % (v, not v))]
        if isinstance(v, int):
            return [(("const", v + 1), "%r -> %r" % (v, v + 1))]
        if isinstance(v, float):
            return [(("const", v + 1.0), "%r -> %r" % (v, v + 1.0))]
        if isinstance(v, str) and v:
            return [(("const", "XX" + v + "XX"), "string constant changed")]
        return []
    if isinstance(node, (ast.If, ast.While, ast.IfExp)):
        return [(("negate",), "condition negated")]
    if isinstance(node, ast.Return) and node.value is not None \
            and not (isinstance(node.value, ast.Constant) and node.value.value is None):
        return [(("none",), "return None")]
    return []


def sites(func_node):
    """Every mutation site of a function, in source order."""
    out = []
    for i, (node, line) in enumerate(walk(func_node)):
        for op, label in _ops_at(node):
            out.append(Site(i, op, line, "line %d: %s" % (line, label)))
    return out


def spread(items, cap):
    """At most `cap` of the items, evenly over the list (deterministic)."""
    if len(items) <= cap:
        return list(items)
    return [items[(i * len(items)) // cap] for i in range(cap)]


def mutated(func_node, site):
    """A copy of the def with the one change of `site` made, decorators,
    annotations and defaults left out (they are the function object's, not
    its code's)."""
    node = copy.deepcopy(func_node)
    target = walk(node)[site.index][0]
    kind = site.op[0]
    if kind == "op":
        target.op = site.op[1]()
    elif kind == "cmp":
        target.ops[site.op[1]] = site.op[2]()
    elif kind == "const":
        target.value = site.op[1]
    elif kind == "negate":
        target.test = ast.UnaryOp(op=ast.Not(), operand=target.test)
    elif kind == "none":
        target.value = ast.Constant(value=None)
    node.decorator_list = []
    node.returns = None
    args = node.args
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None:
            a.annotation = None
    args.defaults = []
    args.kw_defaults = [None] * len(args.kwonlyargs)
    return node


def owner_class(func):
    """The name of the class a function is defined in (for name mangling and
    `super()`), or None."""
    parts = getattr(func, "__qualname__", "").split(".")
    if len(parts) >= 2 and parts[-2] != "<locals>":
        return parts[-2]
    return None


def compile_mutant(func, node):
    """The code object of a mutated def, with the same free variables as
    the function's own (so it can replace its __code__), or None."""
    orig = func.__code__
    free = [n for n in orig.co_freevars if n != "__class__"]
    cls = owner_class(func)
    # The wrapper is parsed rather than built (node fields differ between
    # Python versions); the mutated def goes where `pass` is.
    head = "".join("    %s = None\n" % n for n in free)
    if cls is not None:
        src = head + "    class %s:\n        pass\n    return %s.__dict__[%r]\n" % (cls, cls, node.name)
    else:
        src = head + "    pass\n    return %s\n" % node.name
    mod = ast.parse("def _testgen_mutant():\n" + src)
    outer = mod.body[0]
    if cls is not None:
        outer.body[len(free)].body = [node]
    else:
        outer.body[len(free)] = node
    ast.fix_missing_locations(mod)
    try:
        ns = {}
        exec(compile(mod, "<testgen mutant>", "exec", dont_inherit=True), ns)
        fn = ns["_testgen_mutant"]()
        code = fn.__code__
    except Exception:
        return None
    if code.co_freevars != orig.co_freevars or code.co_argcount != orig.co_argcount \
            or code.co_kwonlyargcount != orig.co_kwonlyargcount \
            or (code.co_flags & _KIND_FLAGS) != (orig.co_flags & _KIND_FLAGS):
        return None
    return code


def touches_outside(func_node, namespace):
    """Whether the function's source calls what could reach files,
    processes or the network: its mutants are not run."""
    for node, _ in walk(func_node):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else None
            if name in _TOUCHING:
                return True
        if isinstance(node, ast.Name) and node.id in _TOUCHING_MODULES:
            mod = namespace.get(node.id)
            if inspect.ismodule(mod) or mod is None:
                return True
        if isinstance(node, ast.Name) and inspect.ismodule(namespace.get(node.id)) \
                and (namespace[node.id].__name__.split(".")[0] in _TOUCHING_MODULES):
            return True
    return False


def skip_reason(func, func_node, namespace):
    """Why a function gets no mutants (None: it does)."""
    if func_node is None or not isinstance(func_node, ast.FunctionDef):
        return "no source" if func_node is None else "async"
    if not inspect.isfunction(func) or getattr(func, "__code__", None) is None:
        return "not a Python function"
    if inspect.isgeneratorfunction(func) or inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
        return "generator or async"
    first = min([func_node.lineno] + [d.lineno for d in func_node.decorator_list])
    if not first <= func.__code__.co_firstlineno <= func_node.lineno:
        return "source does not match the loaded function"
    if touches_outside(func_node, namespace):
        return "touches files or processes"
    return None


def build(func, func_node, lines=None, cap=MAX_MUTANTS):
    """[(label, line, code)]: up to `cap` compiled mutants, spread over the
    sites on `lines` (those the kept tests ran; all when None)."""
    # Spread twice the cap over the sites first: a long function has
    # hundreds, and compiling each costs.
    all_sites = spread([s for s in sites(func_node) if lines is None or s.line in lines], 2 * cap)
    out = []
    for site in all_sites:
        code = None
        try:
            code = compile_mutant(func, mutated(func_node, site))
        except Exception:
            code = None
        if code is not None:
            out.append((site.label, site.line, code))
    return spread(out, cap)


class Swapped:
    """`with Swapped(func, code):` runs with the function's code replaced,
    the original put back whatever happens."""

    def __init__(self, func, code):
        self.func = func
        self.code = code
        self.orig = func.__code__

    def __enter__(self):
        self.func.__code__ = self.code
        return self

    def __exit__(self, *exc):
        self.func.__code__ = self.orig
        return False
