"""The Python baseline of the Cobertura benchmark: the extraction testgen's
reader (server/src/coverage/cobertura.rs) does, with the standard library's
xml.etree.ElementTree (its C accelerator, the fastest XML parser Python
ships), in two idiomatic variants: `ET.parse` then walk the tree, and
`ET.iterparse` clearing each `<class>` once read.

Both produce the same result as testgen: for every `<class>`, its filename
resolved against the `<source>`s (first candidate that exists, as testgen
does) and made relative to the root, and its `<line>`s as (number, hits,
branches covered/total from `condition-coverage`) sorted by line without
duplicates; files repeated in a report are merged. As bench/py_analyzer.py,
it raises the garbage collector's threshold as mypy does, so that building
hundreds of thousands of elements does not rescan them over and over.

Usage: python3 bench/py_cobertura.py COVERAGE_XML ROOT [REPEAT]
Prints JSON: {"parse_ms": [...], "iterparse_ms": [...], "files", "lines", "covered", "branch_lines"}
"""
import gc
import json
import os
import sys
import time
import xml.etree.ElementTree as ET


def condition(value):
    """`50% (1/2)` -> (1, 2), else None."""
    if not value:
        return None
    try:
        inner = value[value.index("(") + 1 : value.rindex(")")]
        covered, total = inner.split("/")
        covered, total = int(covered), int(total)
    except ValueError:
        return None
    return (covered, total) if covered <= total else None


class Resolver:
    def __init__(self, root):
        self.root = os.path.realpath(root)

    def __call__(self, filename, sources):
        if os.path.isabs(filename):
            candidates = [filename]
        else:
            candidates = [os.path.join(s if os.path.isabs(s) else os.path.join(self.root, s),
                                       filename) for s in sources]
            candidates.append(os.path.join(self.root, filename))
        inside = []
        for c in candidates:
            c = os.path.normpath(c)
            rel = os.path.relpath(c, self.root)
            if rel == ".." or rel.startswith("../"):
                continue
            if os.path.exists(c):
                return rel.replace(os.sep, "/")
            inside.append(rel.replace(os.sep, "/"))
        return inside[0] if inside else None


def lines_of(cls):
    out = []
    for line in cls.iter("line"):
        number = int(line.get("number"))
        if number <= 0:
            raise ValueError("<line> without a valid number")
        out.append((number, int(line.get("hits")), condition(line.get("condition-coverage"))))
    return out


def finish(raw, sources, resolve):
    files = {}
    for filename, lines in raw:
        rel = resolve(filename, sources)
        if rel is None:
            continue
        files.setdefault(rel, []).extend(lines)
    result = {}
    for rel in sorted(files):
        seen, merged = set(), []
        for l in sorted(files[rel], key=lambda l: l[0]):
            if l[0] not in seen:
                seen.add(l[0])
                merged.append(l)
        result[rel] = merged
    return result


def extract_parse(path, resolve):
    tree = ET.parse(path)
    root = tree.getroot()
    if root.tag != "coverage":
        raise ValueError(f"not a Cobertura report: <{root.tag}>")
    sources = [s.text.strip() for s in root.iter("source") if s.text and s.text.strip()]
    raw = [(c.get("filename"), lines_of(c)) for c in root.iter("class")]
    return finish(raw, sources, resolve)


def extract_iterparse(path, resolve):
    sources, raw = [], []
    for _, elem in ET.iterparse(path, events=("end",)):
        tag = elem.tag
        if tag == "source":
            if elem.text and elem.text.strip():
                sources.append(elem.text.strip())
        elif tag == "class":
            raw.append((elem.get("filename"), lines_of(elem)))
            elem.clear()
    return finish(raw, sources, resolve)


def main():
    gc.set_threshold(200_000, 30, 30)
    path, root = sys.argv[1], sys.argv[2]
    repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    resolve = Resolver(root)
    times = {"parse_ms": [], "iterparse_ms": []}
    results = []
    for _ in range(repeat):
        for name, fn in (("parse_ms", extract_parse), ("iterparse_ms", extract_iterparse)):
            t = time.perf_counter()
            result = fn(path, resolve)
            times[name].append((time.perf_counter() - t) * 1e3)
            results.append(result)
    assert all(r == results[0] for r in results[1:])
    r = results[0]
    out = dict(times)
    out["files"] = len(r)
    out["lines"] = sum(len(v) for v in r.values())
    out["covered"] = sum(1 for v in r.values() for l in v if l[1] > 0)
    out["branch_lines"] = sum(1 for v in r.values() for l in v if l[2] is not None)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
