"""The Python baseline of the index benchmark: what `testgen index PATH --json`
extracts, done the way a Python tool would do it, with the standard
library's `ast` in one process.

Usage: python3 bench/py_analyzer.py PATH > index.json

It is meant as an honest equivalent, not a straw man: it parses each file once
with the C parser (`ast.parse` on bytes), visits only statements (as testgen
does: definitions nested in expressions are not indexed), takes source text
of decorators, annotations, defaults and bases by slicing the file's bytes
with precomputed line offsets (not `ast.get_source_segment`, which splits the
file again on every call), and reads routes straight off the decorator
nodes, where testgen re-parses the decorator's text, and raises the cyclic
garbage collector's threshold as mypy does (`gc.set_threshold(200_000, 30,
30)`; the default threshold costs ~25% here, rescanning the AST objects
over and over). Output: the same JSON
object as `testgen index --json` (docs/index-schema.md), same keys and
meanings. Known differences, none of which costs time: Python's parser does
not recover from syntax errors (a broken file yields one `parse_errors` entry
and nothing else), and .gitignore support is limited to the root file's
simple name patterns (Django's sdist has no .gitignore).
"""
import ast
import fnmatch
import gc
import json
import os
import sys
import warnings
from itertools import accumulate

SKIPPED_DIR_NAMES = {
    "__pycache__", "site-packages", "node_modules", ".git", ".hg", ".svn",
    ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".testgen",
    ".eggs", "build", "dist",
}
MARKERS = ("requirements.txt", "setup.py", "pyproject.toml")
CANDIDATE_DIRS = ("backend", "server", "api", "app", "src")
METHOD_SHORTCUTS = ("get", "post", "put", "patch", "delete", "head", "options")
FASTAPI_ONLY_KWARGS = {
    "status_code", "response_model", "tags", "dependencies", "summary",
    "description", "response_description", "responses", "deprecated",
    "operation_id", "response_class", "include_in_schema",
    "response_model_exclude_none", "response_model_exclude_unset", "openapi_extra",
}
FLASK_ONLY_KWARGS = {"endpoint", "strict_slashes", "defaults", "subdomain",
                     "provide_automatic_options"}
DJANGO_VIEW_BASES = {
    "View", "TemplateView", "RedirectView", "ListView", "DetailView", "CreateView",
    "UpdateView", "DeleteView", "FormView", "ArchiveIndexView", "YearArchiveView",
    "MonthArchiveView", "WeekArchiveView", "DayArchiveView", "TodayArchiveView",
    "DateDetailView", "LoginView", "LogoutView", "APIView", "GenericAPIView",
    "ListAPIView", "CreateAPIView", "RetrieveAPIView", "UpdateAPIView",
    "DestroyAPIView", "ListCreateAPIView", "RetrieveUpdateAPIView",
    "RetrieveDestroyAPIView", "RetrieveUpdateDestroyAPIView", "ViewSet",
    "GenericViewSet", "ModelViewSet", "ReadOnlyModelViewSet",
}
DJANGO_VIEW_MODULES = {"views", "generic", "generics", "viewsets"}
DJANGO_MODEL_BASES = {"Model", "AbstractUser", "AbstractBaseUser"}
DJANGO_FORM_BASES = {"Form", "ModelForm", "BaseForm", "BaseModelForm"}
DJANGO_ADMIN_BASES = {"ModelAdmin", "TabularInline", "StackedInline"}
COMPOUND_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")


# ------------------------------------------------------------------ project

def is_skipped_dir(path, name):
    return (name in SKIPPED_DIR_NAMES or name.endswith(".egg-info")
            or os.path.isfile(os.path.join(path, "pyvenv.cfg")))


def has_marker(d):
    return any(os.path.isfile(os.path.join(d, m)) for m in MARKERS)


def subdirs(d):
    try:
        entries = [e for e in os.scandir(d) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return [e.path for e in sorted(entries, key=lambda e: e.name)
            if not e.name.startswith(".") and e.name != "frontend"
            and not is_skipped_dir(e.path, e.name)]


def contains_python(d, depth):
    try:
        entries = list(os.scandir(d))
    except OSError:
        return False
    if any(e.is_file() and e.name.endswith(".py") for e in entries):
        return True
    return depth > 1 and any(
        e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        and not is_skipped_dir(e.path, e.name) and contains_python(e.path, depth - 1)
        for e in entries)


def python_root(root):
    if has_marker(root):
        return root
    for name in CANDIDATE_DIRS:
        d = os.path.join(root, name)
        if os.path.isdir(d) and (has_marker(d) or contains_python(d, 4)):
            return d
    level1 = subdirs(root)
    for d in level1:
        if has_marker(d):
            return d
    for d in level1:
        for sub in subdirs(d):
            if has_marker(sub):
                return sub
    return root


def gitignore_patterns(root):
    try:
        with open(os.path.join(root, ".gitignore")) as f:
            lines = [l.strip() for l in f]
    except OSError:
        return []
    return [l.rstrip("/") for l in lines if l and not l.startswith(("#", "!"))]


def python_files(root):
    ignored = gitignore_patterns(root)

    def ignore(name):
        return name.startswith(".") or any(fnmatch.fnmatch(name, p) for p in ignored)

    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs
                   if not ignore(x) and not is_skipped_dir(os.path.join(d, x), x)]
        out.extend(os.path.join(d, f) for f in files
                   if f.endswith(".py") and not ignore(f))
    out.sort()
    return out


def is_test_file(rel):
    name = rel.rsplit("/", 1)[-1]
    return name == "conftest.py" or (name.startswith("test_") and name.endswith(".py")) \
        or name.endswith("_test.py")


def tests_info(rels):
    tests = sorted(set(r for r in rels if is_test_file(r)))
    root = None
    if tests:
        common = tests[0].split("/")[:-1]
        for t in tests[1:]:
            parts = t.split("/")[:-1]
            n = 0
            while n < len(common) and n < len(parts) and common[n] == parts[n]:
                n += 1
            del common[n:]
        root = "/".join(common)
    return {"found": any(t.rsplit("/", 1)[-1] != "conftest.py" for t in tests),
            "root": root, "files": tests}


# ------------------------------------------------------------------ one file

class FileIndexer:
    def __init__(self, rel, src):
        self.rel = rel
        self.src = src
        self.offsets = [0, *accumulate(len(l) for l in src.splitlines(keepends=True))]
        self.scopes = []  # [name, is_function, class_info or None]
        self.functions, self.classes, self.imports = [], [], []

    def text(self, node):
        o = self.offsets
        start = o[node.lineno - 1] + node.col_offset
        end = o[node.end_lineno - 1] + node.end_col_offset
        return self.src[start:end].decode("utf-8", "replace")

    def qualname(self, name):
        parts = []
        for sname, is_fn, _ in self.scopes:
            parts.append(sname + (".<locals>." if is_fn else "."))
        parts.append(name)
        return "".join(parts)

    def suite(self, body):
        for node in body:
            t = type(node)
            if t is ast.FunctionDef or t is ast.AsyncFunctionDef:
                self.function(node)
            elif t is ast.ClassDef:
                self.klass(node)
            elif t is ast.Import:
                for a in node.names:
                    self.imports.append({"path": self.rel, "module": a.name, "names": [],
                                         "level": 0, "line": node.lineno})
            elif t is ast.ImportFrom:
                self.imports.append({"path": self.rel, "module": node.module or "",
                                     "names": [a.name for a in node.names],
                                     "level": node.level or 0, "line": node.lineno})
            elif t is ast.If or t is ast.For or t is ast.AsyncFor or t is ast.While \
                    or t is ast.With or t is ast.AsyncWith or t is ast.Try \
                    or t is ast.TryStar or t is ast.Match or t is ast.ExceptHandler \
                    or t is ast.match_case:
                for field in COMPOUND_FIELDS:
                    sub = getattr(node, field, None)
                    if sub:
                        self.suite(sub)

    def function(self, f):
        name = f.name
        qualname = self.qualname(name)
        decorators = [self.text(d) for d in f.decorator_list]
        cls = None
        if self.scopes and not self.scopes[-1][1]:
            cls = qualname[: len(qualname) - len(name) - 1]
        kind = function_kind(cls is not None, decorators)
        first = f.body[0] if f.body else None
        info = {
            "path": self.rel, "qualname": qualname, "name": name, "class": cls,
            "line": f.lineno, "end_line": f.end_lineno,
            "decorator_line": f.decorator_list[0].lineno if f.decorator_list else None,
            "body_line": first.lineno if first is not None else f.end_lineno,
            "is_async": type(f) is ast.AsyncFunctionDef, "kind": kind,
            "decorators": decorators, "params": self.params(f.args),
            "docstring": docstring(f.body), "depth": len(self.scopes),
        }
        if self.scopes and self.scopes[-1][2] is not None:
            self.scopes[-1][2]["methods"].append({"name": name, "kind": kind})
        self.functions.append(info)
        info["_node"] = f
        self.scopes.append([name, True, None])
        self.suite(f.body)
        self.scopes.pop()

    def klass(self, c):
        bases = [self.text(b) for b in c.bases] + [self.text(k) for k in c.keywords]
        info = {
            "path": self.rel, "qualname": self.qualname(c.name), "name": c.name,
            "line": c.lineno, "end_line": c.end_lineno,
            "decorator_line": c.decorator_list[0].lineno if c.decorator_list else None,
            "bases": bases, "methods": [], "docstring": docstring(c.body),
        }
        self.classes.append(info)
        self.scopes.append([c.name, False, info])
        self.suite(c.body)
        self.scopes.pop()

    def params(self, a):
        out = []
        positional = a.posonlyargs + a.args
        defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
        for i, (p, d) in enumerate(zip(positional, defaults)):
            out.append({"name": p.arg,
                        "kind": "positional_only" if i < len(a.posonlyargs) else "regular",
                        "annotation": self.text(p.annotation) if p.annotation else None,
                        "default": self.text(d) if d is not None else None})
        if a.vararg:
            out.append(self.star(a.vararg, "var_positional"))
        for p, d in zip(a.kwonlyargs, a.kw_defaults):
            out.append({"name": p.arg, "kind": "keyword_only",
                        "annotation": self.text(p.annotation) if p.annotation else None,
                        "default": self.text(d) if d is not None else None})
        if a.kwarg:
            out.append(self.star(a.kwarg, "var_keyword"))
        return out

    def star(self, p, kind):
        return {"name": p.arg, "kind": kind,
                "annotation": self.text(p.annotation) if p.annotation else None,
                "default": None}

    # -------------------------------------------------------------- web

    def routes(self, module):
        hint = import_hint(self.imports)
        routes = []
        for f in self.functions:
            node = f.pop("_node")
            for d in node.decorator_list:
                r = self.route_from_decorator(d, hint)
                if r is not None:
                    r.update(path=self.rel, function=f["qualname"], line=d.lineno)
                    routes.append(r)
        if b"urlpatterns" in self.src:
            routes.extend(DjangoUrls(self, module).routes())
        return routes

    def route_from_decorator(self, d, hint):
        if type(d) is not ast.Call or type(d.func) is not ast.Attribute:
            return None
        kind = d.func.attr
        if kind not in ("route", "api_route") and kind not in METHOD_SHORTCUTS:
            return None
        kw = {k.arg: k.value for k in d.keywords if k.arg}
        arg = d.args[0] if d.args else kw.get("rule") or kw.get("path")
        if type(arg) is not ast.Constant or type(arg.value) is not str:
            return None
        rule = arg.value
        if rule and not rule.startswith("/"):
            return None
        owner = self.text(d.func.value)
        fastapi_kw = any(k in FASTAPI_ONLY_KWARGS for k in kw)
        by_hint = hint
        if kind == "api_route" or (kind == "route" and fastapi_kw):
            fw = "fastapi"
        elif kind == "route":
            fw = by_hint or "flask"
        elif fastapi_kw:
            fw = "fastapi"
        elif any(k in FLASK_ONLY_KWARGS for k in kw):
            fw = "flask"
        else:
            fw = by_hint or framework_from_owner(owner)
        if kind in ("route", "api_route"):
            if "methods" in kw:
                methods = [s.upper() for s in self.elements(kw["methods"]) if type(s) is str]
            else:
                methods = ["GET"]
        else:
            methods = [kind.upper()]
        fastapi = fw == "fastapi"
        return {
            "path": self.rel, "function": "", "route": rule, "methods": methods,
            "framework": fw, "line": 0, "owner": owner,
            "status_code": self.text(kw["status_code"]) if fastapi and "status_code" in kw else None,
            "response_model": self.text(kw["response_model"])
            if fastapi and "response_model" in kw else None,
            "tags": [e if type(e) is str else e[0] for e in self.elements(kw["tags"], True)]
            if fastapi and "tags" in kw else [],
        }

    def elements(self, expr, keep_other=False):
        elts = expr.elts if type(expr) in (ast.List, ast.Tuple, ast.Set) else [expr]
        out = []
        for e in elts:
            if type(e) is ast.Constant and type(e.value) is str:
                out.append(e.value)
            elif keep_other:
                out.append((self.text(e),))
        return out


def import_hint(imports):
    flask = any(is_flask_module(i["module"]) for i in imports)
    fastapi = any(is_fastapi_module(i["module"]) for i in imports)
    if flask and not fastapi:
        return "flask"
    if fastapi and not flask:
        return "fastapi"
    return None


def is_flask_module(m):
    return m.split(".", 1)[0] == "flask" or m.startswith("flask_")


def is_fastapi_module(m):
    return m.split(".", 1)[0] in ("fastapi", "starlette")


def framework_from_owner(owner):
    last = owner.rsplit(".", 1)[-1].lower()
    if last == "bp" or last.endswith("_bp") or last.startswith("bp_") or "blueprint" in last:
        return "flask"
    return "fastapi"


def function_kind(in_class, decorators):
    if not in_class:
        return "function"
    for d in decorators:
        last = d.strip().rsplit(".", 1)[-1]
        if last == "staticmethod":
            return "staticmethod"
        if last == "classmethod":
            return "classmethod"
        if last in ("property", "cached_property", "setter", "getter", "deleter"):
            return "property"
    return "method"


def docstring(body):
    if body and type(body[0]) is ast.Expr:
        v = body[0].value
        if type(v) is ast.Constant and type(v.value) is str:
            for line in v.value.splitlines():
                line = line.strip()
                if line:
                    return line
    return None


def django_component(c):
    for b in c["bases"]:
        kind = django_kind_of_base(b)
        if kind:
            return {"path": c["path"], "kind": kind, "name": c["name"], "line": c["line"]}
    return None


def django_kind_of_base(base):
    base = "".join(base.split("[", 1)[0].split())
    if "=" in base:
        return None
    module, _, name = base.rpartition(".")
    module = module.rsplit(".", 1)[-1] if module else None

    def frm(expected):
        return module is None or module == expected

    if name in DJANGO_MODEL_BASES and frm("models"):
        return "model"
    if name.endswith("Serializer") and frm("serializers"):
        return "serializer"
    if name != "MethodView" and (name in DJANGO_VIEW_BASES or (
            module in DJANGO_VIEW_MODULES and (name.endswith("View") or name.endswith("ViewSet")))):
        return "view"
    if name in DJANGO_FORM_BASES and frm("forms"):
        return "form"
    if name in DJANGO_ADMIN_BASES and frm("admin"):
        return "admin"
    return None


class DjangoUrls:
    """`urlpatterns` of a urls.py: path()/re_path()/url(), include() expanded."""

    def __init__(self, fi, module):
        self.fi = fi
        self.lists = {}
        for stmt in flatten_module_level(module.body):
            target = value = None
            t = type(stmt)
            if t is ast.Assign and len(stmt.targets) == 1:
                target, value = stmt.targets[0], stmt.value
            elif t is ast.AnnAssign and stmt.value is not None:
                target, value = stmt.target, stmt.value
            elif t is ast.AugAssign and type(stmt.op) is ast.Add:
                target, value = stmt.target, stmt.value
            if type(target) is ast.Name:
                self.lists.setdefault(target.id, []).append(value)

    def routes(self):
        out = []
        for value in self.lists.get("urlpatterns", []):
            self.collect(value, "", 0, out)
        return out

    def collect(self, e, prefix, depth, out):
        if depth > 16:
            return
        t = type(e)
        if t is ast.List or t is ast.Tuple:
            for x in e.elts:
                self.collect(x, prefix, depth, out)
        elif t is ast.Starred:
            self.collect(e.value, prefix, depth, out)
        elif t is ast.BinOp and type(e.op) is ast.Add:
            self.collect(e.left, prefix, depth, out)
            self.collect(e.right, prefix, depth, out)
        elif t is ast.Name and (e.id != "urlpatterns" or depth > 0):
            for v in self.lists.get(e.id, []):
                self.collect(v, prefix, depth + 1, out)
        elif t is ast.Call and callee(e) in ("path", "re_path", "url"):
            self.pattern(e, prefix, depth, out)
        elif t is ast.Call:
            for x in e.args:
                self.collect(x, prefix, depth, out)

    def pattern(self, call, prefix, depth, out):
        route_e = argument(call, "route", 0)
        view = argument(call, "view", 1)
        if route_e is None or view is None:
            return
        route = join_route(prefix, self.route_text(route_e))
        if type(view) is ast.Call and callee(view) == "include":
            inc = argument(view, "arg", 0)
            if inc is None:
                pass
            elif type(inc) in (ast.List, ast.Tuple, ast.Name) and self.is_local_list(inc):
                self.collect(inc, route, depth + 1, out)
                return
            else:
                target = inc.elts[0] if type(inc) is ast.Tuple and inc.elts else inc
                out.append(self.route(call, route, self.route_text(target)))
                return
        out.append(self.route(call, route, self.fi.text(view)))

    def is_local_list(self, e):
        if type(e) is ast.Name:
            return e.id in self.lists
        if type(e) is ast.Tuple:
            return not (e.elts and type(e.elts[0]) is ast.Constant
                        and type(e.elts[0].value) is str)
        return True

    def route_text(self, e):
        if type(e) is ast.Constant and type(e.value) is str:
            return e.value
        return self.fi.text(e)

    def route(self, call, route, function):
        return {"path": self.fi.rel, "function": function, "route": route, "methods": [],
                "framework": "django", "line": call.lineno, "owner": None,
                "status_code": None, "response_model": None, "tags": []}


def flatten_module_level(body):
    out = []
    for s in body:
        t = type(s)
        if t is ast.If:
            out.extend(flatten_module_level(s.body))
            out.extend(flatten_module_level(s.orelse))
        elif t is ast.Try or t is ast.TryStar:
            out.extend(flatten_module_level(s.body))
            for h in s.handlers:
                out.extend(flatten_module_level(h.body))
            out.extend(flatten_module_level(s.orelse))
            out.extend(flatten_module_level(s.finalbody))
        else:
            out.append(s)
    return out


def callee(call):
    f = call.func
    if type(f) is ast.Name:
        return f.id
    if type(f) is ast.Attribute:
        return f.attr
    return None


def argument(call, name, position):
    for k in call.keywords:
        if k.arg == name:
            return k.value
    positional = [a for a in call.args if type(a) is not ast.Starred]
    return positional[position] if position < len(positional) else None


def join_route(prefix, route):
    if not prefix:
        return route
    return prefix + (route[1:] if route.startswith("^") else route)


def index_file(rel, data):
    """Everything extracted from one file; never raises."""
    lossy = False
    parse_errors = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        lossy = True
        data = data.decode("utf-8", "replace").encode("utf-8")
    try:
        module = ast.parse(data)
    except (SyntaxError, ValueError) as e:
        parse_errors.append({"path": rel, "line": getattr(e, "lineno", None) or 1,
                             "column": getattr(e, "offset", None) or 1,
                             "message": getattr(e, "msg", str(e))})
        module = ast.Module(body=[], type_ignores=[])
    fi = FileIndexer(rel, data)
    fi.suite(module.body)
    routes = fi.routes(module)
    django = [d for d in (django_component(c) for c in fi.classes) if d]
    return {"functions": fi.functions, "classes": fi.classes, "imports": fi.imports,
            "routes": routes, "django": django, "parse_errors": parse_errors, "lossy": lossy}


# ------------------------------------------------------------------ project framework

def detect_framework(rels, files):
    django = fastapi = flask = django_files = fastapi_app = flask_app = False
    for rel, fi in zip(rels, files):
        name = rel.rsplit("/", 1)[-1]
        if name == "manage.py":
            django = django_files = True
        elif name == "settings.py":
            django_files = True
        for i in fi["imports"]:
            if i["level"] > 0:
                continue
            m = i["module"]
            top = m.split(".", 1)[0]
            names = i["names"]
            if top in ("django", "rest_framework"):
                django = True
            elif is_fastapi_module(m) or top == "uvicorn":
                fastapi = True
                if top == "fastapi" and (not names or "FastAPI" in names or "APIRouter" in names):
                    fastapi_app = True
            elif is_flask_module(m):
                flask = True
                if top == "flask" and (not names or "Flask" in names or "Blueprint" in names):
                    flask_app = True
        for r in fi["routes"]:
            if r["framework"] == "django":
                django = True
            elif r["framework"] == "fastapi":
                fastapi = True
            elif r["framework"] == "flask":
                flask = flask_app = True
    detected = [fw for found, fw in ((django, "django"), (fastapi, "fastapi"), (flask, "flask"))
                if found]
    if not detected:
        return "python"
    if len(detected) == 1:
        return detected[0]
    if django and django_files:
        return "django"
    if fastapi and fastapi_app:
        return "fastapi"
    if flask and flask_app:
        return "flask"
    return min(detected)


def main():
    gc.set_threshold(200_000, 30, 30)
    warnings.simplefilter("ignore")  # SyntaxWarnings of invalid escapes, as testgen
    root = os.path.realpath(sys.argv[1])
    if not os.path.isdir(root):
        print(f"{sys.argv[1]}: no such directory", file=sys.stderr)
        return 2
    files = python_files(root)
    rels, indexed = [], []
    for path in files:
        rel = os.path.relpath(path, root).replace(os.sep, "/")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            fi = index_file(rel, b"")
            fi["parse_errors"] = [{"path": rel, "line": 1, "column": 1,
                                   "message": f"cannot read file: {e}"}]
        else:
            fi = index_file(rel, data)
        rels.append(rel)
        indexed.append(fi)

    def flat(key):
        return [x for fi in indexed for x in fi[key]]

    out = {
        "root": root,
        "python_root": python_root(root),
        "framework": detect_framework(rels, indexed),
        "files": len(rels),
        "lossy_files": [r for r, fi in zip(rels, indexed) if fi["lossy"]],
        "parse_errors": flat("parse_errors"),
        "functions": flat("functions"),
        "classes": flat("classes"),
        "routes": flat("routes"),
        "imports": flat("imports"),
        "django": flat("django"),
        "tests": tests_info(rels),
    }
    json.dump(out, sys.stdout, separators=(",", ":"), ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
