"""Route specs of small real Flask and FastAPI applications, and a Flask
route explored end to end through its test client."""

from testgen_explore.frameworks.fastapi import fastapi_specs
from testgen_explore.frameworks.flask import flask_specs
from testgen_explore.frameworks.routes import RouteExplorer

FLASK_APP = '''from flask import Flask, jsonify, request

app = Flask(__name__)


@app.route("/items/<int:item_id>", methods=["GET", "DELETE"])
def item(item_id):
    return jsonify(id=item_id)


@app.post("/items")
def create():
    data = request.get_json() or {}
    name = data["name"]
    qty = int(data.get("qty", 1))
    if qty < 1:
        return jsonify(error="qty"), 400
    return jsonify(name=name, qty=qty), 201


@app.get("/search")
def search():
    q = request.args.get("q")
    limit = request.args.get("limit", type=int)
    return jsonify(q=q, limit=limit)
'''

FASTAPI_APP = '''from typing import Optional

from fastapi import APIRouter, Depends, FastAPI
from pydantic import BaseModel


class Order(BaseModel):
    product: str
    quantity: int = 1


def get_db():
    return {}


router = APIRouter(prefix="/orders")


@router.post("", status_code=201)
def place(order: Order, db=Depends(get_db)):
    return {"product": order.product}


@router.get("/{order_id}")
def get_order(order_id: int, verbose: bool = False, note: Optional[str] = None):
    return {"id": order_id}


app = FastAPI()
app.include_router(router)
'''


def by_view(specs):
    return {spec.view_name: spec for _, spec in specs}


def test_flask_specs(ctx, load):
    mod = load("shop", FLASK_APP)
    specs = by_view(flask_specs(ctx, mod.app))
    assert sorted(specs) == ["create", "item", "search"]
    item = specs["item"]
    assert item.methods == ["DELETE", "GET"]
    assert item.path_params == [("item_id", int)]
    assert item.url({"item_id": 5}, {}) == "/items/5"
    create = specs["create"]
    assert create.methods == ["POST"] and create.json_var == "data"
    keys = create.json_facts.keys["data"]
    assert keys["name"][0] is True       # subscripted: required
    assert keys["qty"] == [False, ("num", None)]  # .get() under int(): optional number
    search = specs["search"]
    assert search.query == [("limit", int, False), ("q", str, False)]
    assert search.url({}, {"q": "a b", "limit": 2}) == "/search?limit=2&q=a+b"


def test_fastapi_specs(ctx, load):
    mod = load("orders", FASTAPI_APP)
    specs = by_view(fastapi_specs(ctx, mod.app))
    assert sorted(specs) == ["get_order", "place"]
    get = specs["get_order"]
    assert get.template == "/orders/{order_id}" and get.methods == ["GET"]
    assert get.path_params == [("order_id", int)]
    assert get.query == [("verbose", bool, False), ("note", str, False)]
    assert get.url({"order_id": 7}, {"verbose": True}) == "/orders/7?verbose=True"
    place = specs["place"]
    assert place.methods == ["POST"]
    assert place.model is mod.Order  # the body; the Depends parameter is no input
    assert place.query == [] and place.path_params == []


def test_a_flask_route_is_explored_through_its_test_client(ctx, load):
    mod = load("shop", FLASK_APP)
    lines = FLASK_APP.splitlines()
    start = lines.index('@app.post("/items")') + 1
    end = lines.index('    return jsonify(name=name, qty=qty), 201') + 1
    req = {"op": "explore", "id": 1,
           "target": {"file": mod.__file__, "module": "shop", "qualname": "create", "kind": "route",
                      "line": start, "end_line": end},
           "budget_s": 20.0, "max_calls": 200, "call_timeout_s": 2.0, "seed": 0, "allow_unsafe": False,
           "app": {"framework": "flask", "import": "from shop import app", "expr": "app"}}
    answer = RouteExplorer(ctx, req).explore()
    assert answer["status"] == "ok", answer
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    names = [t["name"] for t in answer["tests"]]
    assert any(n.startswith("test_create_returns_201") for n in names), names
    assert any(n.startswith("test_create_returns_400_when_qty_less_than_1") for n in names), names
    for t in answer["tests"]:
        assert t["fixtures"] == ["client"]
        assert t["source"].startswith("def %s(client):\n" % t["name"])
