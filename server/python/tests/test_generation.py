"""Value generation from annotations: pools (first value the most typical),
constants of the function's source, call sites, random draws by seed."""

import random
import typing

from testgen_explore.execution import Callee
from testgen_explore.generation import Gen
from testgen_explore.source import FunctionFacts


def gen_for(ctx, module=None, seed=0):
    return Gen(random.Random(seed), ctx.callsites, vars(module) if module else {}, ctx.guard)


def srcs(vals):
    return [v.src for v in vals]


def facts_of(ctx, module, name):
    tree = ctx.parse(module.__file__)
    node = next(n for n in tree.body if getattr(n, "name", None) == name)
    return FunctionFacts(node, vars(module))


def test_primitive_pools_start_with_the_typical_value(ctx):
    gen = gen_for(ctx)
    ints = srcs(gen.pool(int))
    assert ints[0] == "1" and "0" in ints and "-1" in ints
    assert srcs(gen.pool(bool)) == ["True", "False"]
    assert srcs(gen.pool(str))[:2] == ["'abc'", "''"]
    assert srcs(gen.pool(float))[0] == "1.0"


def test_the_functions_constants_and_their_neighbours_come_first(ctx, load):
    mod = load("limits", "def check(n: int):\n    if n > 17:\n        return 'big'\n    return 'small'\n")
    gen = gen_for(ctx, mod)
    assert srcs(gen.pool(int, facts_of(ctx, mod, "check"), "n"))[:4] == ["1", "16", "17", "18"]


def test_containers_optional_and_literal_annotations(ctx):
    gen = gen_for(ctx)
    assert srcs(gen.pool(typing.Optional[int]))[:3] == ["1", "None", "0"]
    assert srcs(gen.pool(typing.List[int])) == ["[]", "[1]", "[1, 0, -1]"]
    assert srcs(gen.pool(typing.Dict[str, int]))[0] == "{}"
    assert srcs(gen.pool(typing.Tuple[int, str]))[0] == "(1, 'abc')"
    assert srcs(gen.pool(typing.Literal["a", "b"])) == ["'a'", "'b'"]
    # A string annotation is evaluated, `X | Y` included on any Python.
    assert srcs(gen.pool("int | None"))[:2] == ["1", "None"]


def test_enums_and_dataclasses_are_written_by_their_importable_names(ctx, load):
    mod = load("shapes", (
        "import dataclasses\nimport enum\n\n\n"
        "class Color(enum.Enum):\n    RED = 'red'\n    BLUE = 'blue'\n\n\n"
        "@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int = 0\n"
    ))
    gen = gen_for(ctx, mod)
    colors = gen.pool(mod.Color)
    assert srcs(colors) == ["Color.RED", "Color.BLUE"]
    assert colors[0].imports == {"from shapes import Color"}
    assert colors[1].build() is mod.Color.BLUE
    points = gen.pool(mod.Point)
    assert points[0].src == "Point(1)"
    assert points[0].imports == {"from shapes import Point"}
    assert points[0].build() == mod.Point(1, 0)
    # Then one field at a time through its pool, all constructible.
    assert "Point(1, y=1)" in srcs(points)
    assert all(isinstance(p.build(), mod.Point) for p in points)


def test_a_dict_parameter_gets_the_keys_the_body_looks_up(ctx, load):
    mod = load("rows", "def parse(row):\n    return row['name'].strip(), int(row.get('qty', 1))\n")
    gen = gen_for(ctx, mod)
    pool = gen.pool(None, facts_of(ctx, mod, "parse"), "row")
    first = pool[0].build()
    assert set(first) == {"name", "qty"}
    assert first["name"] == "Ada"  # a name-like key gets a name
    # Each key is also left out once, so both branches of a lookup are tried.
    built = [v.build() for v in pool]
    assert {"qty": first["qty"]} in built and {"name": "Ada"} in built


def test_literal_calls_in_the_project_become_candidates(ctx, load):
    mod = load("geometry", "def area(w: int, h: int) -> int:\n    return w * h\n")
    with open(ctx.root + "/usage.py", "w") as f:
        f.write("from geometry import area\n\nprint(area(3, 4))\nprint(area(w, 4))\n")
    gen = gen_for(ctx, mod)
    callee = Callee(mod.area, gen, facts_of(ctx, mod, "area"))
    literal = [callee.from_callsite(c) for c in ctx.callsites.calls("area")]
    # Only the call whose arguments are all literals is usable.
    assert [srcs(a) for a in literal if a is not None] == [["3", "4"]]


def test_random_draws_repeat_with_the_seed(ctx):
    def draws(seed):
        gen = gen_for(ctx, seed=seed)
        return [gen.random_val(typing.Optional[int], None, "n").src for _ in range(30)]

    assert draws(5) == draws(5)
    assert len(set(draws(5))) > 3
