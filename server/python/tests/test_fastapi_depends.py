"""FastAPI routes with form fields and dependencies: the specs say what each
route reads (a dependency's own query keys and headers too), and the search
posts forms and overrides only the dependencies that fail as they are."""

import ast
import threading

import pytest

from testgen_explore.frameworks.depends import DependencyPolicy, Dependency, Overrides
from testgen_explore.frameworks.fastapi import fastapi_specs
from testgen_explore.frameworks.routes import RouteExplorer
from testgen_explore.values import Lit

APP = '''import os
from dataclasses import dataclass
from typing import Annotated, Optional

from fastapi import Depends, FastAPI, Form, Header, HTTPException, Query
from pydantic import BaseModel

app = FastAPI()


class User(BaseModel):
    name: str
    admin: bool = False


@dataclass
class Page:
    offset: int
    limit: int


def current_user(x_token: Annotated[Optional[str], Header()] = None) -> User:
    if x_token != os.environ.get("SECRET_FOR_TESTS_ONLY", "unset") + "!":
        raise HTTPException(status_code=401, detail="who are you")
    return User(name="x")


def paging(offset: int = 0, size: Annotated[int, Query(alias="per_page")] = 10) -> Page:
    return Page(offset, size)


@app.post("/login")
def login(user: Annotated[str, Form()], password: Annotated[str, Form()], remember: Annotated[bool, Form()] = False):
    if not password.strip():
        raise HTTPException(status_code=400, detail="empty")
    return {"user": user, "ttl": 30 if remember else 1}


@app.get("/reports")
async def reports(user: Annotated[User, Depends(current_user)], page: Annotated[Page, Depends(paging)]):
    if user.admin:
        return {"all": True, "offset": page.offset}
    return {"all": False, "offset": page.offset}


@app.get("/feed")
async def feed(page: Page = Depends(paging)):
    if page.offset > 5:
        return {"end": True}
    return {"end": False}
'''


def by_view(specs):
    return {spec.view_name: spec for _, spec in specs}


def test_form_fields_and_dependencies_in_the_specs(ctx, load):
    mod = load("notesapp", APP)
    specs = by_view(fastapi_specs(ctx, mod.app))
    login = specs["login"]
    assert login.form == [("user", str, True), ("password", str, True), ("remember", bool, False)]
    assert login.query == [] and login.model is None
    reports = specs["reports"]
    assert [(d.label, d.ann, d.param) for d in reports.depends] == [
        ("notesapp.current_user", mod.User, "user"), ("notesapp.paging", mod.Page, "page")]
    # what the dependencies read is the route's input, noted as theirs
    assert reports.headers == [("x-token", str, True)]
    assert reports.query == [("offset", int, False), ("per_page", int, False)]
    assert reports.read_by[("headers", "x-token")] == "notesapp.current_user"
    assert reports.read_by[("query", "per_page")] == "notesapp.paging"


def test_a_dependency_that_only_fails_is_overridden_one_that_returns_is_not():
    user = Dependency(lambda: None, ("m", "user"), str, "user")
    page = Dependency(lambda: None, ("m", "page"), int, "page")
    policy = DependencyPolicy()
    for _ in range(2):  # user fails; page, after it, is never reached
        policy.observe([user, page], set(), set(), {"m.user"}, 401)
    assert policy.chance(user) > 0.5 and policy.chance(page) == 0.0
    policy.observe([user, page], set(), set(), set(), 422)  # invalid input: nobody's fault
    policy.observe([user, page], {"m.user"}, {"m.page"}, set(), 200)
    assert policy.chance(page) == 0.0 and policy.returned["m.page"] == 1
    assert policy.failed["m.user"] == 2 and policy.failed["m.page"] == 0
    # one that returned once stays as it is
    policy.observe([user], set(), {"m.user"}, set(), 200)
    assert policy.chance(user) == 0.0
    # without an importable name or a type there is nothing to override with
    assert DependencyPolicy().chance(Dependency(len, None, None, "n")) == 0.0


def test_overrides_render_inside_the_test_and_are_restored():
    dep = Dependency(lambda: None, ("app.auth", "current_user"), str, "user")
    body = Overrides([(dep, Lit("ada"))]).wrap(["response = client.get('/x')", "assert response.status_code == 200"])
    assert body == [
        "# imported here, after the `client` fixture imported the application afresh",
        "from app.auth import current_user",
        "",
        "client.app.dependency_overrides[current_user] = lambda: 'ada'",
        "try:",
        "    response = client.get('/x')",
        "    assert response.status_code == 200",
        "finally:",
        "    client.app.dependency_overrides.pop(current_user, None)",
    ]
    assert Overrides().wrap(["x"]) == ["x"]


@pytest.fixture
def traced_threads(ctx):
    """Sync dependencies run in worker threads, traced as the harness does."""
    threading.settrace(ctx.tracer.thread_trace)
    yield
    threading.settrace(None)


def explore(ctx, mod, name):
    tree = ast.parse(APP)
    node = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef) and n.name == name)
    req = {"op": "explore", "id": 1,
           "target": {"file": mod.__file__, "module": "notesapp", "qualname": name, "kind": "route",
                      "line": node.decorator_list[0].lineno, "end_line": node.end_lineno},
           "budget_s": 30.0, "max_calls": 200, "call_timeout_s": 3.0, "seed": 0, "allow_unsafe": False,
           "app": {"framework": "fastapi", "import": "from notesapp import app", "expr": "app"}}
    answer = RouteExplorer(ctx, req).explore()
    assert answer["status"] == "ok", answer
    assert answer["lines"]["reached"] == answer["lines"]["total"], answer
    return "\n".join(t["source"] for t in answer["tests"])


def test_a_form_route_is_explored_with_form_data(ctx, load, traced_threads):
    mod = load("notesapp", APP)
    src = explore(ctx, mod, "login")
    assert "client.post('/login', data={" in src, src
    assert "'password': ' '" in src, src  # a blank field, not an empty (missing) one
    assert "dependency_overrides" not in src


def test_a_failing_dependency_is_overridden_a_working_one_runs_as_is(ctx, load, traced_threads):
    mod = load("notesapp", APP)
    src = explore(ctx, mod, "reports")
    assert "from notesapp import User, current_user" in src, src
    assert "client.app.dependency_overrides[current_user] = lambda: User(" in src, src
    assert "is_admin" not in src and "admin=True" in src, src
    assert "paging" not in src  # it works as it is: its query keys are sent instead
    assert "x-token" not in src  # only the overridden dependency reads it
    assert "client.app.dependency_overrides.pop(current_user, None)" in src
    feed = explore(ctx, mod, "feed")
    assert "dependency_overrides" not in feed and "offset=" in feed, feed
