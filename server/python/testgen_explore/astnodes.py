"""Syntax-tree nodes for parameters that want one (`tree: ast.AST`,
`node: ast.Call`, typed_ast's `ast3.Name`, an unannotated `visit_Call(self,
node)` of a NodeVisitor): taken from small parsed snippets, because a node
built field by field from its constructor rarely looks like code a
transformer or a checker is written for, and `None` breaks the contract.

A node is written in the test as the parse and the path to it,
`ast.parse('x = f(a)').body[0].value`, so the test shows the code it feeds."""

import importlib
import re
import sys

from .values import ExprVal

# Each snippet holds the common nodes of one kind of code; the first
# snippet holding a node of the wanted class gives its plainest instance.
SNIPPETS = [
    "x = f(a, 1)\n",
    "import os\nfrom pkg.mod import name as alias\n",
    "def func(a, b=1, *args, c=None, **kwargs):\n    return a + b\n",
    "class Cls(Base):\n    attr: int = 1\n\n    def method(self, x):\n        self.x = x\n        return self.x\n",
    "for i in range(3):\n    if i > 1 and not done:\n        break\n    else:\n        continue\nwhile x:\n    x -= 1\n",
    "try:\n    y = obj.attr[0]\nexcept ValueError as e:\n    raise RuntimeError('bad') from e\nfinally:\n    pass\n",
    "with open(path) as fh:\n    data = [l.strip() for l in fh if l]\n",
    "async def run(items):\n    async with lock:\n        await go(*items, **opts)\n    async for i in gen():\n        yield i\n",
    "values = {'k': [1, 2], 's': {3}, 't': (4,)}\nf'{values!r:>10}'\nlambda v: v if v else None\n",
    "global g\ndel a[1:2], b.c\nassert x is not None, 'msg'\nx += 1\nprint(*args, sep='')\n",
    "def gen():\n    yield from other()\n    nonlocal_ = {k: v for k, v in d.items()}\n    return (n for n in x)\n",
]

_VISIT = re.compile(r"^visit_([A-Za-z]\w*)$")
_MAX_NODES = 6


def ast_module(cls):
    """The module with `parse` and `walk` whose node classes `cls` belongs
    to (`ast` for `_ast.Name`, `typed_ast.ast3` for `typed_ast._ast3.Name`),
    or None when `cls` is no syntax-tree node."""
    name = getattr(cls, "__module__", "") or ""
    parts = name.split(".")
    candidates = [name, ".".join(parts[:-1] + [parts[-1].lstrip("_")])]
    if name == "_ast":
        candidates.insert(0, "ast")
    for cand in candidates:
        mod = sys.modules.get(cand)
        if mod is None:
            try:
                mod = importlib.import_module(cand) if cand else None
            except Exception:
                mod = None
        base = getattr(mod, "AST", None)
        if isinstance(base, type) and isinstance(cls, type) and issubclass(cls, base) \
                and callable(getattr(mod, "parse", None)) and callable(getattr(mod, "walk", None)):
            return mod
    return None


def _import_of(mod):
    """(prefix the test writes, import line) for an AST module."""
    name = mod.__name__
    if "." not in name:
        return name, "import %s" % name
    pkg, last = name.rsplit(".", 1)
    return last, "from %s import %s" % (pkg, last)


def _path_to(root, target):
    """The attribute/index path from root to target (`.body[0].value`), or None."""
    stack = [(root, "")]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path
        fields = getattr(node, "_fields", ()) or ()
        for field in reversed(fields):
            val = getattr(node, field, None)
            if isinstance(val, list):
                for i in reversed(range(len(val))):
                    stack.append((val[i], "%s.%s[%d]" % (path, field, i)))
            elif hasattr(val, "_fields"):
                stack.append((val, "%s.%s" % (path, field)))
    return None


_POOLS = {}


def node_pool(cls):
    """Nodes of `cls` (its subclasses included) from the snippets, the whole
    parsed module first when a module is what `cls` accepts."""
    if cls not in _POOLS:
        _POOLS[cls] = _node_pool(cls)
    return _POOLS[cls]


def _node_pool(cls):
    mod = ast_module(cls)
    if mod is None:
        return []
    alias, imp = _import_of(mod)
    out = []
    for snippet in SNIPPETS:
        try:
            tree = mod.parse(snippet)
        except Exception:
            continue
        if isinstance(tree, cls):
            out.append(_val(mod, alias, imp, snippet, ""))
            continue
        for node in mod.walk(tree):
            if isinstance(node, cls):
                path = _path_to(tree, node)
                if path is not None:
                    out.append(_val(mod, alias, imp, snippet, path))
                break
        if len(out) >= _MAX_NODES:
            break
    return out


def _val(mod, alias, imp, snippet, path):
    src = "%s.parse(%r)%s" % (alias, snippet, path)

    def build():
        # Evaluated, not cached: every call gets a fresh tree it may mutate.
        return eval(src, {alias: mod})

    return ExprVal(src, build, [imp])


def _owner(func):
    """The class a function is defined in, from its qualified name."""
    self_ = getattr(func, "__self__", None)
    if self_ is not None:
        return self_ if isinstance(self_, type) else type(self_)
    qual = (getattr(func, "__qualname__", "") or "").split(".")
    obj = sys.modules.get(getattr(func, "__module__", "") or "")
    for part in qual[:-1]:
        obj = getattr(obj, part, None)
    return obj if isinstance(obj, type) else None


def visited_class(func):
    """The node class a NodeVisitor's `visit_X(self, node)` is called with
    (`ast.X`), or None when `func` is no such method."""
    m = _VISIT.match(getattr(func, "__name__", "") or "")
    owner = _owner(func)
    if m is None or not isinstance(owner, type):
        return None
    for klass in owner.__mro__:
        if klass.__name__ in ("NodeVisitor", "NodeTransformer"):
            mod = sys.modules.get(klass.__module__)
            node = getattr(mod, m.group(1), None)
            base = getattr(mod, "AST", None)
            if isinstance(node, type) and isinstance(base, type) and issubclass(node, base):
                return node
    return None
