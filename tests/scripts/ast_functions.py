"""Lists (path, qualname, line, end_line) of every function in the given
files, with Python's own `ast`, for comparison with `testgen index --json`.

Usage: python ast_functions.py ROOT < paths.txt  (paths relative to ROOT, one a line)
Prints JSON: {"functions": [[path, qualname, line, end_line], ...], "unparsable": [path, ...]}
"""
import ast
import json
import sys
import warnings


def walk(body, prefix, out, path):
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            q = prefix + node.name
            out.append([path, q, node.lineno, node.end_lineno])
            walk(node.body, q + ".<locals>.", out, path)
        elif isinstance(node, ast.ClassDef):
            walk(node.body, prefix + node.name + ".", out, path)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                sub = getattr(node, field, None)
                if isinstance(sub, list):
                    walk(sub, prefix, out, path)


def main():
    root = sys.argv[1]
    out, bad = [], []
    warnings.simplefilter("ignore")
    for rel in sys.stdin.read().split("\n"):
        if not rel:
            continue
        try:
            with open(f"{root}/{rel}", "rb") as f:
                tree = ast.parse(f.read())
        except (SyntaxError, ValueError):
            bad.append(rel)
            continue
        walk(tree.body, "", out, rel)
    json.dump({"functions": out, "unparsable": bad}, sys.stdout)


main()
