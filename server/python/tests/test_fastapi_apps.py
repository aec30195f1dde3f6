"""FastAPI projects laid out as FastAPI's documentation teaches (issue 20):
routers included into a main app behind dependencies that compare a header
and a query value against constants, and a second module with its own
`app = FastAPI()` keeping SQLModel tables in an SQLite file that its startup
creates in the working directory."""

import os
import sys
import threading

import pytest

from testgen_explore.frameworks.app import handle_find_app
from testgen_explore.frameworks.appdir import registry_module
from testgen_explore.frameworks.routes import RouteExplorer

pytest.importorskip("sqlmodel")

DEPS = '''
from fastapi import Header, HTTPException


async def get_token_header(x_token: str = Header()):
    if x_token != "fake-super-secret-token":
        raise HTTPException(status_code=400, detail="X-Token header invalid")


async def get_query_token(token: str):
    if token != "jessica":
        raise HTTPException(status_code=400, detail="No Jessica token provided")
'''

ITEMS = '''
from fastapi import APIRouter, Depends, HTTPException

from deps import get_token_header

router = APIRouter(prefix="/items", dependencies=[Depends(get_token_header)])
fake_items_db = {"plumbus": {"name": "Plumbus"}}


@router.get("/{item_id}")
async def read_item(item_id: str):
    if item_id not in fake_items_db:
        raise HTTPException(status_code=404, detail="Item not found")
    return {"name": fake_items_db[item_id]["name"], "item_id": item_id}
'''

MAIN = '''
from fastapi import Depends, FastAPI

import items
from deps import get_query_token

app = FastAPI(dependencies=[Depends(get_query_token)])
app.include_router(items.router)


@app.get("/")
async def root():
    return {"message": "Hello"}
'''

HEROES = '''
from typing import Union

from fastapi import Depends, FastAPI
from sqlmodel import Field, Session, SQLModel, create_engine


class HeroCreate(SQLModel):
    name: str


class Hero(HeroCreate, table=True):
    id: Union[int, None] = Field(default=None, primary_key=True)


engine = create_engine("sqlite:///database.db", connect_args={"check_same_thread": False})


def get_session():
    with Session(engine) as session:
        yield session


app = FastAPI()


@app.on_event("startup")
def on_startup():
    SQLModel.metadata.create_all(engine)


@app.post("/heroes/")
def create_hero(hero: HeroCreate, session: Session = Depends(get_session)):
    db_hero = Hero.model_validate(hero)
    session.add(db_hero)
    session.commit()
    session.refresh(db_hero)
    return db_hero
'''


@pytest.fixture
def traced_threads(ctx):
    """As the harness's main does: FastAPI runs sync views in worker threads."""
    threading.settrace(ctx.tracer.thread_trace)
    yield
    threading.settrace(None)


@pytest.fixture
def apps(ctx, load, traced_threads):
    # Each test as in a new harness: SQLModel's MetaData of the test before
    # has the `hero` table already.
    for name in [n for n in sys.modules if registry_module(n)]:
        del sys.modules[name]
    load("deps", DEPS)
    load("items", ITEMS)
    load("main", MAIN)
    heroes = load("heroes", HEROES)
    answer = handle_find_app(ctx, {"framework": "fastapi", "modules": ["heroes", "main"]})
    assert answer["status"] == "ok", answer
    return answer, heroes


def explore(ctx, app, module, name, source):
    lines = source.splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if ln.startswith(("def %s(" % name, "async def %s(" % name)))
    req = {"op": "explore", "id": 1,
           "target": {"file": module.__file__, "module": module.__name__, "qualname": name, "kind": "route",
                      "line": start - 1, "end_line": start + 6},
           "budget_s": 30.0, "max_calls": 60, "call_timeout_s": 5.0, "seed": 0, "allow_unsafe": False,
           "app": app}
    answer = RouteExplorer(ctx, req).explore()
    assert answer["status"] == "ok", answer
    assert answer["tests"], answer
    return "\n".join(t["source"] for t in answer["tests"])


def test_every_application_is_found_and_the_one_with_most_routes_is_the_client(apps):
    answer, _ = apps
    app = answer["app"]
    assert app["import"] == "from main import app"
    assert app["others"] == [{"framework": "fastapi", "import": "from heroes import app", "expr": "app",
                              "fixture": "heroes_client"}]
    conftest = answer["conftest"]
    compile(conftest, "conftest.py", "exec")
    assert "def client():" in conftest and "def heroes_client():" in conftest
    assert "moved = enter_workdir(work)" in conftest


def test_a_second_apps_route_runs_in_a_working_directory_of_its_own(apps, ctx, root):
    answer, heroes = apps
    src = explore(ctx, answer["app"], heroes, "create_hero", HEROES)
    assert "def test_create_hero_returns_200(heroes_client):" in src, src
    assert "heroes_client.post('/heroes/'" in src, src
    # The app's SQLite file went into a temporary directory, not the project.
    assert not os.path.exists(os.path.join(root, "database.db"))


def test_a_routers_dependencies_get_the_constants_they_compare_against(apps, ctx, load):
    answer, _ = apps
    items = load("items", ITEMS)
    src = explore(ctx, answer["app"], items, "read_item", ITEMS)
    assert "headers={'x-token': 'fake-super-secret-token'}" in src, src
    assert "?token=jessica" in src, src
    assert "assert response.status_code == 200" in src, src
