#!/usr/bin/env python3
"""Issue 15 benchmark: explore against Pynguin 0.48 on real PyPI libraries.

The libraries are those of the CodaMosa / CoverUp benchmark (the versions it
used where PyPI still has them). For each library, in one run:

  prepare   `pip download --no-deps NAME==VERSION` (the wheel where PyPI has
            one, else the sdist: the same sources; the package's tests are
            removed either way), the package directory copied into a fresh
            project dir, and a venv of its own (bench/.cache/real/NAME/venv)
            holding the library's dependencies (the library itself is
            installed, then uninstalled, so the project copy is what imports)
            plus pytest, pytest-cov and coverage, as a user's project would be;
  pynguin   Pynguin 0.48.0 in its own venv (with the library's dependencies),
            `--maximum-search-time 60` on each benchmark module, the tests
            it writes copied into pynguin_tests/ of a fresh project copy;
  explore   `testgen generate PROJECT --engine explore --json --python VENV`
            on another fresh copy.

Every figure comes from one measurement done here, not by the tool under
test: coverage.py with branch coverage over pytest in the library's venv,
restricted to the benchmark's modules; L+B = (covered lines + covered
branches) / (lines + branches), pooled over those modules (CoverUp's figure).
Failing = JUnit failures + errors. The generated suites run twice more
(plain pytest) to count flaky tests. Wall time = the tool's own time.

    nice -n 19 python3 bench/real_libraries.py [--projects a,b] [--engines pynguin,explore]
        [--mutation apimd,pytutils]    # mutmut 3 on the suites of those
    python3 bench/real_libraries.py --mutate RUN/results.json --mutation a,b   # afterwards
    python3 bench/real_libraries.py --report bench/.cache/real/RUN/results.json[,OTHER/results.json]

Issue 20 adds thirteen libraries (twenty in all) and splits them, before
any engine work on the new ones, into a "tuned" half (looked at while
developing) and a "checked" half (only measured): HALF below; --report
prints both halves with their medians. The explore suites also go through
bench/check_raises.py (share of kept tests pinning an interpreter error).

Standard library only. Nothing downloaded is committed.
"""

from __future__ import annotations

import argparse
import configparser
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "bench" / ".cache" / "real"
PYNGUIN = "pynguin==0.48.0"
TOOLS = ["pytest>=8", "pytest-cov>=5", "coverage>=7.6"]

# name: (pip spec, distribution name, package dir, benchmark modules, CoverUp gpt-4o one-run L+B %
# or None where the issue/paper gives none for our module list)
PROJECTS = {
    "apimd": ("apimd==2.1.1", "apimd", "apimd",
              ["apimd.parser", "apimd.loader", "apimd.pep585"], 47.2),
    "dataclasses-json": ("dataclasses-json==0.5.2", "dataclasses-json", "dataclasses_json",
                         ["dataclasses_json.core", "dataclasses_json.mm",
                          "dataclasses_json.undefined", "dataclasses_json.utils"], 60.9),
    "typesystem": ("typesystem==0.2.4", "typesystem", "typesystem",
                   ["typesystem.fields", "typesystem.schemas", "typesystem.formats",
                    "typesystem.json_schema"], 64.0),
    "py-backwards": ("py-backwards==0.7", "py-backwards", "py_backwards",
                     ["py_backwards.utils.snippet", "py_backwards.utils.tree",
                      "py_backwards.transformers.dict_unpacking",
                      "py_backwards.transformers.starred_unpacking"], 80.5),
    "httpie": ("httpie==2.4.0", "httpie", "httpie",
               ["httpie.cli.argtypes", "httpie.utils", "httpie.models", "httpie.sessions"], 65.0),
    "tqdm": ("tqdm==4.66.4", "tqdm", "tqdm", ["tqdm.utils", "tqdm.std", "tqdm.cli"], 45.8),
    "pytutils": ("pytutils==0.4.1", "pytutils", "pytutils",
                 ["pytutils.iters", "pytutils.trees", "pytutils.urls", "pytutils.files"], 42.9),
    # Issue 20: the other thirteen of the benchmark (module lists ours: each
    # package's core logic, no CLI entry points or platform glue).
    "async-btree": ("async-btree==1.1.1", "async-btree", "async_btree",
                    ["async_btree.control", "async_btree.decorator", "async_btree.leaf",
                     "async_btree.utils"], None),
    "cookiecutter": ("cookiecutter==1.7.3", "cookiecutter", "cookiecutter",
                     ["cookiecutter.prompt", "cookiecutter.generate", "cookiecutter.repository",
                      "cookiecutter.utils"], None),
    "isort": ("isort==5.6.4", "isort", "isort",
              ["isort.parse", "isort.output", "isort.wrap", "isort.wrap_modes"], None),
    "mimesis": ("mimesis==4.1.3", "mimesis", "mimesis",
                ["mimesis.providers.person", "mimesis.providers.address",
                 "mimesis.providers.internet", "mimesis.random"], None),
    "pysnooper": ("pysnooper==0.4.2", "PySnooper", "pysnooper",
                  ["pysnooper.tracer", "pysnooper.variables", "pysnooper.utils"], None),
    "thefuck": ("thefuck==3.30", "thefuck", "thefuck",
                ["thefuck.utils", "thefuck.types", "thefuck.corrector", "thefuck.conf"], None),
    "flutes": ("flutes==0.3.0", "flutes", "flutes",
               ["flutes.iterator", "flutes.structure", "flutes.math", "flutes.timing"], None),
    "python-semantic-release": ("python-semantic-release==7.33.2", "python-semantic-release",
                                "semantic_release",
                                ["semantic_release.history.parser_angular",
                                 "semantic_release.history.logs", "semantic_release.helpers",
                                 "semantic_release.history"], None),
    "tornado": ("tornado==6.0.4", "tornado", "tornado",
                ["tornado.httputil", "tornado.escape", "tornado.util", "tornado.template"], None),
    "luigi": ("luigi==3.0.3", "luigi", "luigi",
              ["luigi.date_interval", "luigi.parameter", "luigi.task", "luigi.task_register"], None),
    "black": ("black==22.1.0", "black", "blib2to3",
              ["blib2to3.pytree", "blib2to3.pgen2.tokenize", "blib2to3.pgen2.parse",
               "blib2to3.pgen2.pgen"], None),
    "sanic": ("sanic==21.12.2", "sanic", "sanic",
              ["sanic.headers", "sanic.cookies", "sanic.helpers", "sanic.config"], None),
    "flake8": ("flake8==3.9.2", "flake8", "flake8",
               ["flake8.style_guide", "flake8.processor", "flake8.utils", "flake8.statistics"], None),
}
# Issue 20: split fixed before any engine work on the new libraries. "tuned":
# looked at while developing; "checked": only measured. A gain on the tuned
# half alone is overfit.
TUNED = {"apimd", "dataclasses-json", "typesystem", "py-backwards", "httpie", "tqdm", "pytutils",
         "async-btree", "pysnooper", "flutes"}
HALF = {name: "tuned" if name in TUNED else "checked" for name in PROJECTS}
# Dependencies a library imports but does not declare (pytutils' sdist lists none).
EXTRA_DEPS = {"pytutils": ["six", "cachetools", "wrapt", "attrs"],
              # httpie 2.4 imports pkg_resources, which setuptools >= 81 no longer has
              "httpie": ["setuptools<70"],
              # async-btree 1.1.1 imports pkg_resources too
              "async-btree": ["setuptools<70"],
              # sanic 21.12 imports websockets.connection.CLOSED, gone in websockets 11
              "sanic": ["websockets<11"]}
# Pynguin's venv requirements where they differ from the library's: Pynguin
# 0.48 depends on a newer black than 22.1.0 (pip finds no solution), and
# blib2to3 needs nothing but the standard library; the project copy on
# Pynguin's --project-path is what it imports and instruments.
# Pynguin 0.48 needs a newer setuptools than the < 70 async-btree asks for
# (for pkg_resources, which Pynguin's setuptools still has).
PYNGUIN_REQS = {"black": lambda reqs: [],
                "async-btree": lambda reqs: [r for r in reqs if not r.startswith("setuptools")]}
# `pip download` options: black's wheels are mypyc-compiled (blib2to3 as .so
# files), so the sdist, whose sources are the pure-Python ones.
DOWNLOAD_ARGS = {"black": ["--no-binary", "black"]}

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test", "test_*.py", "*_test.py", "conftest.py")


def log(msg: str) -> None:
    print(f"[real {dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def run(cmd, timeout=1800, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def pip(venv: Path, *args: str) -> None:
    p = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *args])
    if p.returncode != 0:
        raise RuntimeError(f"pip install {' '.join(args)} failed:\n{p.stdout[-1500:]}{p.stderr[-1500:]}")


# ----------------------------------------------------------------- prepare

def fetch(name: str, spec: str) -> Path:
    d = CACHE / name / "dist"
    if not any(d.glob("*")):
        d.mkdir(parents=True, exist_ok=True)
        p = run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                 *DOWNLOAD_ARGS.get(name, []), spec, "-d", str(d)])
        if p.returncode != 0:
            raise RuntimeError(f"pip download {spec} failed: {p.stderr[-800:]}")
    return next(d.glob("*"))


def unpack(archive: Path, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if archive.suffix == ".whl":
        zipfile.ZipFile(archive).extractall(dest)
    else:
        with tarfile.open(archive) as t:
            t.extractall(dest, filter="data")
    return dest


def find_package(root: Path, pkg: str) -> Path:
    hits = sorted((p for p in root.rglob(pkg) if p.is_dir() and (p / "__init__.py").exists()),
                  key=lambda p: len(p.parts))
    if not hits:
        raise RuntimeError(f"no package {pkg} in {root}")
    return hits[0]


def make_venv(venv: Path, requirements: list[str], stamp: str) -> None:
    if (venv / ".bench-stamp").exists() and (venv / ".bench-stamp").read_text() == stamp:
        return
    if venv.exists():
        shutil.rmtree(venv)
    py = os.environ.get("BENCH_PYTHON", "python3.11")
    p = run([py, "-m", "venv", str(venv)])
    if p.returncode != 0:
        raise RuntimeError(f"{py} -m venv failed: {p.stderr}")
    pip(venv, "--upgrade", "pip", "setuptools", "wheel")
    pip(venv, *requirements)
    (venv / ".bench-stamp").write_text(stamp)


def prepare(name: str) -> dict:
    spec, dist, pkg, modules, _ = PROJECTS[name]
    archive = fetch(name, spec)
    pristine = CACHE / name / "pristine"
    # Made once (temp dir + rename): a Pynguin run and an explore run may
    # prepare the same library side by side.
    if not pristine.exists():
        src = unpack(archive, CACHE / name / f"unpacked-{os.getpid()}")
        tmp = CACHE / name / f"pristine-{os.getpid()}"
        shutil.copytree(find_package(src, pkg), tmp / pkg, ignore=IGNORE)
        shutil.rmtree(src)
        tmp.rename(pristine)
    reqs = [str(archive), *EXTRA_DEPS.get(name, [])]
    stamp = json.dumps([reqs, TOOLS])
    venv = CACHE / name / "venv"
    make_venv(venv, [*reqs, *TOOLS], stamp)
    run([str(venv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "--quiet", dist])
    pvenv = CACHE / name / "pynguin-venv"
    return {"name": name, "pkg": pkg, "modules": modules, "pristine": pristine, "venv": venv,
            "pynguin_venv": pvenv, "reqs": reqs, "archive": archive.name}


def prepare_pynguin(info: dict) -> None:
    pvenv = info["pynguin_venv"]
    reqs = PYNGUIN_REQS.get(info["name"], lambda r: r)(info["reqs"])
    make_venv(pvenv, [PYNGUIN, *reqs], json.dumps([PYNGUIN, reqs]))
    if info["name"] != "black":  # there, the library itself was never installed
        spec = PROJECTS[info["name"]]
        run([str(pvenv / "bin" / "python"), "-m", "pip", "uninstall", "-y", "--quiet", spec[1]])


def fresh(info: dict, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(info["pristine"], dest)
    return dest


# ---------------------------------------------------------------- measure

def module_file(project: Path, mod: str) -> Path:
    p = project.joinpath(*mod.split("."))
    return p / "__init__.py" if p.is_dir() else p.with_suffix(".py")


def junit_counts(junit: Path) -> tuple[dict, set[str]]:
    t = {"tests": 0, "failing": 0, "skipped": 0}
    bad: set[str] = set()
    try:
        cases = list(ET.parse(junit).getroot().iter("testcase")) if junit.exists() else []
    except ET.ParseError:  # pytest died while writing it (the log says why)
        t["unreadable"] = True
        cases = []
    if cases:
        for case in cases:
            t["tests"] += 1
            tags = {c.tag for c in case}
            if tags & {"failure", "error"}:
                t["failing"] += 1
                bad.add(f"{case.get('classname')}::{case.get('name')}")
            elif "skipped" in tags:
                t["skipped"] += 1
    return t, bad


def measure(info: dict, project: Path, tests: str, work: Path, reruns: int = 0) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    py = str(info["venv"] / "bin" / "python")
    rc = configparser.ConfigParser()
    # `source` (not `include`): a benchmark module no test imported still
    # counts, with nothing covered; the totals are summed over those files.
    rc["run"] = {"branch": "True", "data_file": str(work / ".coverage"),
                 "source": str(project / info["pkg"])}
    rcfile = work / "coveragerc"
    with rcfile.open("w") as fh:
        rc.write(fh)
    junit = work / "junit.xml"
    for f in (junit, work / "coverage.json", work / ".coverage"):
        f.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYNGUIN_DANGER_AWARE", None)
    base = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:cov", "--continue-on-collection-errors",
            "-o", "junit_family=xunit2"]
    if not (project / tests).exists():
        return {"lb_percent": None, "junit": {"tests": 0, "failing": 0, "skipped": 0}, "flaky": 0,
                "summary": f"no {tests}/"}
    try:
        p = run([py, "-m", "coverage", "run", f"--rcfile={rcfile}", *base, f"--junitxml={junit}", tests],
                cwd=project, env=env, timeout=1800)
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        out = "pytest timed out"
    (work / "pytest.log").write_text(out)
    run([py, "-m", "coverage", "json", f"--rcfile={rcfile}", "-o", str(work / "coverage.json"), "-q"],
        cwd=project, env=env)
    res: dict = {"summary": next((l for l in reversed(out.splitlines()) if l.strip()), "")}
    wanted = {str(module_file(project, m).resolve()) for m in info["modules"]}
    if (work / "coverage.json").exists():
        files = json.loads((work / "coverage.json").read_text())["files"]
        t = {"num_statements": 0, "num_branches": 0, "covered_lines": 0, "covered_branches": 0}
        seen = set()
        for path, data in files.items():
            full = str((project / path).resolve()) if not os.path.isabs(path) else str(Path(path).resolve())
            if full in wanted:
                seen.add(full)
                for k in t:
                    t[k] += data["summary"][k]
        total = t["num_statements"] + t["num_branches"]
        hit = t["covered_lines"] + t["covered_branches"]
        res.update(lines=t["num_statements"], branches=t["num_branches"], covered_lines=t["covered_lines"],
                   covered_branches=t["covered_branches"], modules_measured=len(seen),
                   lb_percent=round(100.0 * hit / total, 1) if total else None)
    else:
        res["lb_percent"] = None
    res["junit"], bad = junit_counts(junit)
    flaky: set[str] = set()
    for i in range(reruns):
        j = work / f"rerun{i}.xml"
        try:
            run([py, *base, f"--junitxml={j}", tests], cwd=project, env=env, timeout=1800)
        except subprocess.TimeoutExpired:
            pass
        _, bad2 = junit_counts(j)
        flaky |= bad ^ bad2
    res["flaky"] = len(flaky)
    return res


_TEST_DEF = re.compile(r"^\s*(?:async\s+)?def\s+test_\w*\s*\(", re.M)


def count_tests(root: Path) -> int:
    return sum(len(_TEST_DEF.findall(f.read_text(errors="replace"))) for f in root.rglob("test_*.py"))


# ----------------------------------------------------------------- engines

def run_pynguin(info: dict, run_dir: Path, args) -> dict:
    prepare_pynguin(info)
    work = run_dir / info["name"] / "pynguin"
    project = fresh(info, work / "project")
    dest = project / "pynguin_tests"
    dest.mkdir()
    scratch = work / "cwd"
    scratch.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYNGUIN_DANGER_AWARE="1", PYTHONDONTWRITEBYTECODE="1")
    total, mods = 0.0, []
    for mod in info["modules"]:
        out = work / "out" / mod
        out.mkdir(parents=True, exist_ok=True)
        logf = work / "logs" / f"{mod}.log"
        logf.parent.mkdir(parents=True, exist_ok=True)
        cmd = [str(info["pynguin_venv"] / "bin" / "pynguin"), "--project-path", str(project),
               "--module-name", mod, "--output-path", str(out), "--maximum-search-time",
               str(args.search_time), "--seed", "1", "--no-rich", "-v"]
        if args.pynguin_mutation_time > 0:
            # Pynguin's assertion generation runs every test on every mutant
            # after the search; under load that alone outlasts the module
            # cap and the kill loses all its tests (isort.parse: 1059 mutants).
            cmd += ["--maximum-mutation-time", str(args.pynguin_mutation_time)]
        log(f"pynguin {mod}")
        t0 = time.monotonic()
        with logf.open("w") as fh:
            proc = subprocess.Popen(cmd, cwd=scratch, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout=args.module_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                code = "killed"
        secs = time.monotonic() - t0
        total += secs
        files = sorted(out.glob("test_*.py"))
        for f in files:
            shutil.copy(f, dest / f"test_pynguin_{mod.replace('.', '_')}.py")
        n = sum(len(_TEST_DEF.findall(f.read_text(errors="replace"))) for f in files)
        mods.append({"module": mod, "exit": code, "seconds": round(secs, 1), "tests": n})
        log(f"  {mod}: exit {code}, {n} tests, {secs:.0f}s")
    m = measure(info, project, "pynguin_tests", work / "measure")
    return {"engine": "pynguin 0.48", "wall_seconds": round(total, 1), "tests_written": count_tests(dest),
            "modules": mods, "measure": m, "project": str(project)}


def run_explore(info: dict, run_dir: Path, args) -> dict:
    work = run_dir / info["name"] / "explore"
    project = fresh(info, work / "project")
    cmd = [args.testgen, "generate", str(project), "--engine", "explore", "--json",
           "--python", str(info["venv"] / "bin" / "python")]
    if args.modules_only:
        # the modules Pynguin gets, and only those (`--file`)
        cmd += ["--file"] + [str(module_file(project, m).relative_to(project)) for m in info["modules"]]
    log(f"explore {info['name']}")
    t0 = time.monotonic()
    try:
        p = run(cmd, timeout=3600)
        out, err, code = p.stdout, p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, err, code = "", str(e), "timeout"
    secs = time.monotonic() - t0
    (work / "stdout.json").write_text(out or "")
    (work / "stderr.log").write_text(err or "")
    try:
        rep = json.loads(out)
    except (json.JSONDecodeError, TypeError):
        rep = {}
    m = measure(info, project, "tests", work / "measure", reruns=2)
    gen = project / "tests" / "generated"
    pins = check_raises(info, project, gen, work)
    log(f"  explore {info['name']}: exit {code}, {secs:.0f}s, L+B {m.get('lb_percent')}")
    return {"engine": "testgen explore", "exit": code, "wall_seconds": round(secs, 1),
            "tests_written": count_tests(gen) if gen.exists() else 0, "measure": m,
            "suspected_bugs": len(rep.get("suspected_bugs") or []), "pinning": pins,
            "project": str(project)}


def check_raises(info: dict, project: Path, gen: Path, work: Path) -> dict:
    """bench/check_raises.py on the kept tests: how many pin an interpreter
    error (no `raise` threw it) without a suspected-bug mark."""
    if not gen.exists():
        return {"error": "no tests/generated"}
    cmd = [sys.executable, str(REPO / "bench" / "check_raises.py"), str(gen), "--project", str(project),
           "--python", str(info["venv"] / "bin" / "python"), "--json", "--timeout", "900"]
    try:
        p = run(cmd, timeout=1000)
    except subprocess.TimeoutExpired:
        return {"error": "check_raises timed out"}
    (work / "check_raises.json").write_text(p.stdout)
    try:
        rep = json.loads(p.stdout)
    except json.JSONDecodeError:
        return {"error": (p.stderr or "no output")[-300:]}
    return {"tests": rep["tests"], "pinning": rep["tests_pinning_interpreter_errors"],
            "share": rep["share_pinning_interpreter_errors"], "blocks": rep["blocks"],
            "offending": rep["offending"][:20]}


def mutation(info: dict, engine: dict, work: Path) -> dict:
    """mutmut 3 over the benchmark modules (every line, covered or not),
    killed by the tests that engine wrote for them."""
    venv = info["venv"]
    p = run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "mutmut>=3,<4"])
    if p.returncode != 0:
        return {"error": "mutmut 3 did not install: " + p.stderr[-300:]}
    project = Path(engine["project"])
    files = [str(module_file(project, m).relative_to(project)) for m in info["modules"]]
    # The generated files of the benchmark modules only: mutmut's own
    # dependencies (installed into the venv now) must not change what the
    # other files' tests see.
    folder, prefix = ("pynguin_tests", "test_pynguin_") if engine["engine"].startswith("pynguin") \
        else ("tests/generated", "test_")
    suite = " ".join(str(f.relative_to(project)) for m in info["modules"]
                     for f in [project / folder / (prefix + m.replace(".", "_") + ".py")]
                     if f.exists())
    if not suite:
        return {"error": "no generated test file for the benchmark modules"}
    (project / "pyproject.toml").write_text(
        "[tool.mutmut]\n"
        f"source_paths = [\"{info['pkg']}\"]\n"
        f"only_mutate = {json.dumps(files)}\n"
        f"also_copy = [\"{folder.split('/')[0]}\"]\n"
        f"pytest_add_cli_args_test_selection = {json.dumps(suite.split())}\n"
        "mutate_only_covered_lines = false\n")
    env = dict(os.environ, PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    t0 = time.monotonic()
    try:
        p = run([str(venv / "bin" / "mutmut"), "run", "--max-children", "1"], cwd=project, env=env, timeout=3600)
        out = p.stdout + p.stderr
    except subprocess.TimeoutExpired:
        out = "mutmut timed out"
    (work / "mutmut.log").write_text(out)
    p = run([str(venv / "bin" / "mutmut"), "results", "--all", "true"], cwd=project, env=env)
    counts: dict[str, int] = {}
    for line in p.stdout.splitlines():
        if ":" in line:
            status = line.rsplit(":", 1)[1].strip()
            counts[status] = counts.get(status, 0) + 1
    killed = counts.get("killed", 0)
    considered = killed + counts.get("survived", 0) + counts.get("timeout", 0) + counts.get("no tests", 0)
    return {"counts": counts, "seconds": round(time.monotonic() - t0, 1),
            "score": round(100.0 * killed / considered, 1) if considered else None}


# ------------------------------------------------------------------ report

# Pynguin 0.48 on the seven libraries of issue 15, as published in
# docs/performance.md (2026-12-02, same versions, modules and settings);
# used by the report, marked "*", where a run has no Pynguin result of its own.
PUBLISHED_PYNGUIN = {
    "apimd": {"lb_percent": 21.3, "tests": 6, "failing": 0, "wall": 77.5, "mutation": 6.8},
    "dataclasses-json": {"lb_percent": 25.3, "tests": 10, "failing": 0, "wall": 176.0},
    "typesystem": {"lb_percent": 68.9, "tests": 203, "failing": 0, "wall": 718.5},
    "py-backwards": {"lb_percent": 48.3, "tests": 19, "failing": 0, "wall": 266.3},
    "httpie": {"lb_percent": 26.0, "tests": 49, "failing": 2, "wall": 323.0},
    "tqdm": {"lb_percent": 16.9, "tests": 24, "failing": 0, "wall": 495.7},
    "pytutils": {"lb_percent": 80.6, "tests": 29, "failing": 0, "wall": 223.8, "mutation": 10.1},
}


def fmt(x, suffix="") -> str:
    return "n/a" if x is None else f"{x}{suffix}"


def median(xs: list) -> float | None:
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    mid = len(xs) // 2
    return round(xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2, 1)


def row(r: dict) -> dict:
    """One library's figures, Pynguin's from the published table when the
    results have none."""
    eng = {e["engine"].split()[0]: e for e in r["engines"]}
    p, e = eng.get("pynguin"), eng.get("testgen")
    pm, em = (p or {}).get("measure", {}), (e or {}).get("measure", {})
    mut = r.get("mutation") or {}
    pub = PUBLISHED_PYNGUIN.get(r["project"], {}) if not p else {}
    star = "*" if pub else ""
    pins = (e or {}).get("pinning") or {}
    return {
        "project": r["project"], "half": HALF.get(r["project"], "?"), "modules": len(r["modules"]),
        "size": f"{fmt(em.get('lines') or pm.get('lines'))}+{fmt(em.get('branches') or pm.get('branches'))}",
        "p_lb": pm.get("lb_percent", pub.get("lb_percent")),
        # a suite of no test covers nothing (measure() finds no folder to run)
        "e_lb": 0.0 if e and not e.get("tests_written") and em.get("lb_percent") is None
        else em.get("lb_percent"),
        "coverup": PROJECTS[r["project"]][4], "star": star,
        "p_tests": p["tests_written"] if p else pub.get("tests"), "e_tests": (e or {}).get("tests_written"),
        "p_fail": pm.get("junit", {}).get("failing", pub.get("failing")),
        "e_fail": em.get("junit", {}).get("failing"), "e_flaky": em.get("flaky"),
        "p_wall": p["wall_seconds"] if p else pub.get("wall"), "e_wall": (e or {}).get("wall_seconds"),
        "pin": pins.get("pinning"), "pin_share": pins.get("share"),
        "e_mut": (mut.get("explore") or {}).get("score"),
        "p_mut": (mut.get("pynguin") or {}).get("score", pub.get("mutation")),
        "bugs": (e or {}).get("suspected_bugs"), "error": r.get("error"),
    }


def render(results: list[dict]) -> str:
    head = ("| half | project | modules | lines+branches | Pynguin 0.48 L+B | explore L+B | CoverUp gpt-4o one run | "
            "tests (P / e) | failing (P / e) | explore flaky | wall time (P / e) | pinning an interpreter error "
            "(explore) | mutation score (P / e) | explore suspected bugs |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rows = [row(r) for r in results]
    lines = [head]
    for half in ("tuned", "checked"):
        for x in (x for x in rows if x["half"] == half):
            s = x["star"]
            lines.append(
                f"| {half} | {x['project']} | {x['modules']} | {x['size']} | {fmt(x['p_lb'], ' %')}{s} | "
                f"{fmt(x['e_lb'], ' %')} | {'–' if x['coverup'] is None else str(x['coverup']) + ' %'} | "
                f"{fmt(x['p_tests'])}{s} / {fmt(x['e_tests'])} | {fmt(x['p_fail'])}{s} / {fmt(x['e_fail'])} | "
                f"{fmt(x['e_flaky'])} | {fmt(x['p_wall'], ' s')}{s} / {fmt(x['e_wall'], ' s')} | "
                f"{fmt(x['pin'])} ({fmt(x['pin_share'], ' %')}) | {fmt(x['p_mut'], ' %')} / "
                f"{fmt(x['e_mut'], ' %')} | {fmt(x['bugs'])} |"
                + (f" error: {' '.join(x['error'].split())[:160]}" if x["error"] else ""))
    lines.append("\n| half | libraries with both | median Pynguin L+B | median explore L+B | median CoverUp (where given) | "
                 "explore >= Pynguin | median pinning share | median mutation (P / e, libraries) | wall time (P / e) |\n"
                 "|---|---|---|---|---|---|---|---|---|")
    for half in ("tuned", "checked", "all"):
        xs = [x for x in rows if half == "all" or x["half"] == half]
        # medians and totals over the libraries both tools have a figure for
        both = [x for x in xs if x["p_lb"] is not None and x["e_lb"] is not None]
        wins = sum(1 for x in both if x["e_lb"] >= x["p_lb"])
        pw = sum(x["p_wall"] or 0 for x in both)
        ew = sum(x["e_wall"] or 0 for x in both)
        mut = [x for x in xs if x["p_mut"] is not None and x["e_mut"] is not None]
        lines.append(
            f"| {half} | {len(both)} of {len(xs)} | {fmt(median([x['p_lb'] for x in both]), ' %')} | "
            f"{fmt(median([x['e_lb'] for x in both]), ' %')} | "
            f"{fmt(median([x['coverup'] for x in both]), ' %')} ({sum(x['coverup'] is not None for x in both)}) | "
            f"{wins} of {len(both)} | {fmt(median([x['pin_share'] for x in xs]), ' %')} | "
            f"{fmt(median([x['p_mut'] for x in mut]), ' %')} / {fmt(median([x['e_mut'] for x in mut]), ' %')} "
            f"({len(mut)}); explore alone {fmt(median([x['e_mut'] for x in xs]), ' %')} "
            f"({sum(x['e_mut'] is not None for x in xs)}) | {pw:.0f} s / {ew:.0f} s |")
    if any(x["star"] for x in rows):
        lines.append("\n* Pynguin's figures from the issue 15 table (docs/performance.md), not this run.")
    muts = [(r["project"], r.get("mutation")) for r in results if r.get("mutation")]
    if muts:
        lines.append("\n| project | suite | mutmut 3 score | mutants |\n|---|---|---|---|")
        for proj, m in muts:
            for suite, mm in m.items():
                lines.append(f"| {proj} | {suite} | {fmt(mm.get('score'), ' %')} | "
                             f"{mm.get('counts') or mm.get('error')} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--projects", default=",".join(PROJECTS))
    ap.add_argument("--engines", default="pynguin,explore")
    ap.add_argument("--search-time", type=int, default=60)
    ap.add_argument("--module-timeout", type=int, default=400)
    ap.add_argument("--pynguin-mutation-time", type=int, default=0,
                    help="cap (s) on Pynguin's mutation-analysis assertion generation; 0: none (issue 15)")
    ap.add_argument("--mutation", default="", help="projects whose suites mutmut 3 scores")
    ap.add_argument("--testgen", default=str(REPO / "target" / "release" / "testgen"))
    ap.add_argument("--modules-only", action="store_true",
                    help="explore only the benchmark modules (testgen generate --file), as Pynguin does")
    ap.add_argument("--out", default=str(CACHE / "runs"))
    ap.add_argument("--report", metavar="RESULTS_JSON[,RESULTS_JSON]")
    ap.add_argument("--remeasure", metavar="RESULTS_JSON",
                    help="measure again the suites an earlier run left (its project copies) and rewrite it")
    ap.add_argument("--mutate", metavar="RESULTS_JSON",
                    help="mutmut 3 on the suites an earlier run left, for the --mutation projects")
    args = ap.parse_args()
    if args.mutate:
        # Mutation apart from generation: it is the slow part, and may run
        # beside the next generation run.
        path = Path(args.mutate)
        muts = {m for m in args.mutation.split(",") if m}
        for r in json.loads(path.read_text()):
            if r["project"] not in muts or not r["engines"]:
                continue
            info = prepare(r["project"])
            out = {}
            for e in r["engines"]:
                key = "explore" if e["engine"].startswith("testgen") else "pynguin"
                log(f"mutmut {r['project']} ({key})")
                out[key] = mutation(info, e, Path(e["project"]).parent)
                log(f"  {r['project']} ({key}): {out[key].get('score')} {out[key].get('counts') or out[key].get('error')}")
            # Re-read and write back per library: a long run stopped half
            # way keeps what it measured.
            results = json.loads(path.read_text())
            for rr in results:
                if rr["project"] == r["project"]:
                    rr.setdefault("mutation", {}).update(out)
            path.write_text(json.dumps(results, indent=2, default=str))
        return 0
    if args.report:
        # Several runs (say Pynguin's and explore's, made apart) merge by project.
        merged: dict[str, dict] = {}
        for f in args.report.split(","):
            for r in json.loads(Path(f).read_text()):
                m = merged.setdefault(r["project"], {**r, "engines": []})
                m["engines"] += r["engines"]
                if r["engines"] and not r.get("error"):
                    m.pop("error", None)  # a later run did what an earlier one could not
                if r.get("mutation"):
                    m.setdefault("mutation", {}).update(r["mutation"])
        print(render(list(merged.values())))
        return 0
    if args.remeasure:
        path = Path(args.remeasure)
        results = json.loads(path.read_text())
        for r in results:
            info = prepare(r["project"])
            for e in r["engines"]:
                project = Path(e["project"])
                folder = "pynguin_tests" if e["engine"].startswith("pynguin") else "tests"
                e["measure"] = measure(info, project, folder, project.parent / "measure",
                                       reruns=0 if folder == "pynguin_tests" else 2)
        path.write_text(json.dumps(results, indent=2, default=str))
        print(render(results))
        return 0
    run_dir = Path(args.out) / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    log(f"run dir {run_dir}")
    engines = args.engines.split(",")
    muts = [m for m in args.mutation.split(",") if m]
    results = []
    for name in [p for p in args.projects.split(",") if p]:
        r: dict = {"project": name, "modules": PROJECTS[name][3], "engines": []}
        try:
            info = prepare(name)
            r["archive"] = info["archive"]
            if "pynguin" in engines:
                r["engines"].append(run_pynguin(info, run_dir, args))
            if "explore" in engines:
                r["engines"].append(run_explore(info, run_dir, args))
            if name in muts:
                r["mutation"] = {}
                for e in r["engines"]:
                    key = "explore" if e["engine"].startswith("testgen") else "pynguin"
                    r["mutation"][key] = mutation(info, e, Path(e["project"]).parent)
        except Exception as exc:  # one library that cannot be set up must not end the run
            r["error"] = str(exc)[:2000]
            log(f"{name}: {exc}")
        results.append(r)
        (run_dir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    md = render(results)
    (run_dir / "table.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
