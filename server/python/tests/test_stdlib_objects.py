"""Parameters whose contract is an object of the standard library or a
tuple type that the constructor search cannot build field by field (issue
20): syntax-tree nodes from parsed snippets, NamedTuples from their fields."""

import ast
import os

from testgen_explore.astnodes import node_pool, visited_class

from test_explore_v2 import explore


def test_nodes_come_from_snippets_and_are_written_as_their_parse():
    calls = node_pool(ast.Call)
    assert calls and all(isinstance(v.build(), ast.Call) for v in calls)
    assert calls[0].src == "ast.parse('x = f(a, 1)\\n').body[0].value"
    assert calls[0].imports == frozenset({"import ast"})
    # a fresh tree every time: a transformer may mutate what it gets
    assert calls[0].build() is not calls[0].build()
    # the base class gets whole modules first
    assert isinstance(node_pool(ast.AST)[0].build(), ast.Module)
    assert node_pool(int) == [] and node_pool(str) == []


def test_a_visit_method_is_fed_the_node_it_is_named_for():
    class V(ast.NodeTransformer):
        def visit_Name(self, node):
            return node

        def helper(self, node):
            return node

    assert visited_class(V.visit_Name) is None  # a local class: not reachable by name
    assert visited_class(ast.NodeTransformer.generic_visit) is None


def test_functions_over_a_tree_get_real_trees(ctx, load):
    mod = load("treeops", "import ast\n\n\n"
                          "def names(tree: ast.AST) -> list:\n"
                          "    return sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name)})\n\n\n"
                          "class Renamer(ast.NodeTransformer):\n"
                          "    def visit_Name(self, node):\n"
                          "        if node.id.startswith('_'):\n"
                          "            return None\n"
                          "        node.id = node.id.upper()\n"
                          "        return node\n")
    answer = explore(ctx, mod, "names")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "ast.parse(" in src and all("import ast" in t["imports"] for t in answer["tests"])
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    assert visited_class(mod.Renamer.visit_Name) is ast.Name
    answer = explore(ctx, mod, "Renamer.visit_Name")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert ".upper" not in src and "ast.parse(" in src, src


def test_a_namedtuple_is_built_from_its_fields(ctx, load):
    mod = load("violations", "from typing import NamedTuple\n\n\n"
                             "class Violation(NamedTuple):\n"
                             "    code: str\n    line: int\n    text: str = ''\n\n\n"
                             "def is_error(v: Violation) -> bool:\n"
                             "    if v.line < 0:\n        return False\n"
                             "    return v.code.startswith('E')\n")
    answer = explore(ctx, mod, "is_error")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "Violation(" in src, src
    assert answer["lines"]["reached"] == answer["lines"]["total"], src


def test_a_private_method_is_found_under_its_mangled_name(ctx, load):
    mod = load("privates", "class Parser:\n"
                           "    def __init__(self, prefix: str = '#'):\n"
                           "        self.prefix = prefix\n\n"
                           "    def __strip(self, line: str) -> str:\n"
                           "        if line.startswith(self.prefix):\n            return ''\n"
                           "        return line.strip()\n")
    answer = explore(ctx, mod, "Parser.__strip")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "._Parser__strip(" in src and "def test_parser_strip" in src, src
    assert answer["lines"]["reached"] == answer["lines"]["total"], src


def test_a_process_id_is_never_pinned(ctx, load):
    mod = load("shellpid", "import os\n\n\n"
                           "def shell_pid() -> int:\n    return os.getppid()\n\n\n"
                           "def own_pid() -> int:\n    return os.getpid()\n")
    for name in ("shell_pid", "own_pid"):
        src = "\n".join(t["source"] for t in explore(ctx, mod, name)["tests"])
        assert str(os.getppid()) not in src and str(os.getpid()) not in src, src
        assert "isinstance(" in src, src


def test_a_module_level_instance_is_the_receiver_when_no_constructor_works(ctx, load):
    mod = load("conf", "import os\n\n\n"
                       "class Settings(dict):\n"
                       "    def __init__(self, defaults):\n"
                       "        if os.environ.get('NEVER_SET_XYZ') != 'yes':\n"
                       "            raise RuntimeError('configure first')\n"
                       "        super().__init__(defaults)\n\n"
                       "    def get_flag(self, key: str) -> bool:\n"
                       "        return bool(self.get(key))\n\n\n"
                       "settings = Settings.__new__(Settings)\n"
                       "settings.update({'debug': True})\n")
    answer = explore(ctx, mod, "Settings.get_flag")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "copy.deepcopy(settings)" in src, src
    assert answer["lines"]["reached"] == answer["lines"]["total"], src


CODEC = '''
import dataclasses
import typing

A = typing.TypeVar("A", bound="Mixin")


class Mixin:
    pass


def field_names(cls):
    return [f.name for f in dataclasses.fields(cls)]


def is_list(type_):
    return type_.__origin__ is list


def schema_of(cls: typing.Type[A]) -> dict:
    return {f.name: f.type for f in dataclasses.fields(cls)}
'''


def test_types_for_code_that_reads_types(ctx, load):
    mod = load("codec", CODEC)
    for name, want in (("field_names", "dataclasses.make_dataclass("), ("is_list", "typing.List[int]"),
                       ("schema_of", "bases=(Mixin,)")):
        answer = explore(ctx, mod, name)
        src = "\n".join(t["source"] for t in answer["tests"])
        assert want in src, (name, src)
        assert answer["lines"]["reached"] == answer["lines"]["total"], (name, src)


def test_keys_a_body_reads_from_its_keyword_arguments_are_passed(ctx, load):
    mod = load("modes", "def grid(**interface):\n"
                        "    if not interface['imports']:\n        return ''\n"
                        "    line = interface['statement'] + '('\n"
                        "    return line + ', '.join(interface['imports']) + ')'\n")
    answer = explore(ctx, mod, "grid")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "grid(imports=" in src and "statement=" in src, src
    assert answer["lines"]["reached"] == answer["lines"]["total"], src


ABSTRACT = '''
import abc


class BaseVariable(abc.ABC):
    def __init__(self, source, exclude=()):
        self.source = source
        self.exclude = tuple(exclude)

    @abc.abstractmethod
    def items(self):
        raise NotImplementedError


class Keys(BaseVariable):
    def items(self):
        return [self.source]
'''


def test_an_abstract_class_init_runs_through_a_concrete_subclass(ctx, load):
    mod = load("variables", ABSTRACT)
    answer = explore(ctx, mod, "BaseVariable.__init__")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "Keys(" in src, src
    assert answer["lines"]["reached"] == answer["lines"]["total"], src


def test_an_options_object_gets_the_attributes_the_body_reads(ctx, load):
    mod = load("decider", "class Decider:\n"
                          "    def __init__(self, options):\n"
                          "        self.selected = tuple(sorted(options.select))\n"
                          "        self.verbose = options.verbose > 1\n\n"
                          "    def decide(self, code: str) -> bool:\n"
                          "        return code.startswith(self.selected)\n")
    answer = explore(ctx, mod, "Decider.__init__")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "types.SimpleNamespace(select=" in src and "verbose=" in src, src
    assert answer["lines"]["reached"] == answer["lines"]["total"], src
