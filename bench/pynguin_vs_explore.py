#!/usr/bin/env python3
"""Benchmark: testgen's offline `explore` engine against Pynguin (issue 5).

Run through bench/pynguin_vs_explore.sh, which prepares the interpreters and
the release binary first. Standard library only; runs in any python3.

Per fixture (tests/fixtures/{plainlib,flaskapp,fastapiapp}):
  baseline  the fixture's own partial suite on a fresh copy
  pynguin   Pynguin on every non-empty source module of a fresh copy
            (PYNGUIN_DANGER_AWARE=1, --maximum-search-time S per module,
            tests to a scratch dir), then the fixture's suite + Pynguin's tests
  explore   `testgen generate COPY --engine explore --json --python P` on a
            fresh copy, then the fixture's suite (which now holds
            tests/generated/)

Every "after" figure comes from the same measurement, done here and not by
the tool under test: coverage.py `run` over pytest in the test venv, line
percent (statements, no branches) over the fixture's source package, tests
excluded; failing = JUnit failures + errors (collection errors included).
"""

from __future__ import annotations

import argparse
import configparser
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = ["plainlib", "flaskapp", "fastapiapp"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".testgen", ".venv", ".coverage", ".pytest_cache")
PYTEST_TIMEOUT_S = 900


def log(msg: str) -> None:
    print(f"[bench {dt.datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------- fixtures

def source_packages(project: Path) -> list[Path]:
    """Top-level packages of a fixture (directories with __init__.py), tests excluded."""
    return sorted(
        p for p in project.iterdir()
        if p.is_dir() and (p / "__init__.py").exists() and p.name not in ("tests", "test")
    )


def source_modules(project: Path) -> tuple[list[str], list[str]]:
    """Dotted names of the fixture's source modules: (non-empty, empty-and-skipped)."""
    mods, empty = [], []
    for pkg in source_packages(project):
        for f in sorted(pkg.rglob("*.py")):
            if "__pycache__" in f.parts:
                continue
            rel = f.relative_to(project).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join(parts)
            (mods if f.read_text(encoding="utf-8", errors="replace").strip() else empty).append(name)
    return mods, empty


def fixture_dependencies(project: Path) -> list[str]:
    deps: list[str] = []
    req = project / "requirements.txt"
    if req.exists():
        for line in req.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if line and not line.startswith("-"):
                deps.append(line)
    pp = project / "pyproject.toml"
    if pp.exists():
        deps += tomllib.loads(pp.read_text()).get("project", {}).get("dependencies", [])
    return deps


def fresh_copy(name: str, dest: Path) -> Path:
    if dest.exists():
        shutil.rmtree(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "tests" / "fixtures" / name, dest, ignore=IGNORE)
    return dest


def snapshot(project: Path) -> dict[str, str]:
    """Hashes of the project's own files (generated tests and caches left out)."""
    out = {}
    for f in project.rglob("*"):
        rel = f.relative_to(project)
        if not f.is_file() or {"__pycache__", ".testgen", ".pytest_cache"} & set(rel.parts):
            continue
        if rel.parts[:2] == ("tests", "generated") or rel.parts[0] == "pynguin_tests" or f.name.startswith(".coverage"):
            continue
        out[str(rel)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def changed_files(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k, v in before.items() if after.get(k) != v)


_TEST_DEF = re.compile(r"^\s*(?:async\s+)?def\s+test_\w*\s*\(", re.M)


def count_tests(files: list[Path]) -> int:
    return sum(len(_TEST_DEF.findall(f.read_text(encoding="utf-8", errors="replace"))) for f in files)


# ------------------------------------------------------------ measurement

def measure(project: Path, test_paths: list[str], python: str, work: Path) -> dict:
    """The fixture's pytest under coverage.py, line coverage of its source package."""
    work.mkdir(parents=True, exist_ok=True)
    pkgs = source_packages(project)
    rc = configparser.ConfigParser()
    rc["run"] = {
        "source": "\n" + "\n".join(str(p) for p in pkgs),
        "omit": "*/tests/*\n*/pynguin_tests/*",
        "branch": "False",
        "data_file": str(work / ".coverage"),
    }
    rcfile = work / "coveragerc"
    with rcfile.open("w") as fh:
        rc.write(fh)
    junit = work / "junit.xml"
    cov_json = work / "coverage.json"
    for f in (junit, cov_json, work / ".coverage"):
        f.unlink(missing_ok=True)
    cmd = [python, "-m", "coverage", "run", f"--rcfile={rcfile}", "-m", "pytest", "-q",
           "-p", "no:cacheprovider", "--continue-on-collection-errors",
           f"--junitxml={junit}", "-o", "junit_family=xunit2", *test_paths]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYNGUIN_DANGER_AWARE", None)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=PYTEST_TIMEOUT_S)
        out, code = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out, code = f"{e.stdout or ''}\n{e.stderr or ''}\npytest timed out after {PYTEST_TIMEOUT_S}s", None
    (work / "pytest.log").write_text(out if isinstance(out, str) else out.decode())
    result = {"pytest_exit": code, "pytest_seconds": round(time.monotonic() - t0, 1),
              "summary": next((l.strip() for l in reversed(out.splitlines()) if l.strip()), "")}
    subprocess.run([python, "-m", "coverage", "json", f"--rcfile={rcfile}", "-o", str(cov_json), "-q"],
                   cwd=project, env=env, capture_output=True, text=True)
    if cov_json.exists():
        totals = json.loads(cov_json.read_text())["totals"]
        stmts, covered = totals["num_statements"], totals["covered_lines"]
        result.update(statements=stmts, covered=covered,
                      line_percent=round(100.0 * covered / stmts, 1) if stmts else 100.0)
    else:
        result.update(statements=None, covered=None, line_percent=None)
    t = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "xfailed": 0}
    if junit.exists():
        for case in ET.parse(junit).getroot().iter("testcase"):
            t["tests"] += 1
            for child in case:
                if child.tag == "failure":
                    t["failures"] += 1
                elif child.tag == "error":
                    t["errors"] += 1
                elif child.tag == "skipped":
                    if (child.get("type") or "") == "pytest.xfail":
                        t["xfailed"] += 1
                    else:
                        t["skipped"] += 1
    t["failing"] = t["failures"] + t["errors"]
    result["junit"] = t
    return result


def failing_in(measurement: dict, work: Path, marker: str) -> int:
    """Failing tests (failure or error) whose JUnit classname/file contains `marker`."""
    junit = work / "junit.xml"
    if not junit.exists():
        return 0
    n = 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        where = (case.get("classname") or "") + " " + (case.get("file") or "") + " " + (case.get("name") or "")
        if marker in where and any(c.tag in ("failure", "error") for c in case):
            n += 1
    return n


# ----------------------------------------------------------------- engines

_COV = re.compile(r"Coverage: ([0-9.]+)")
_EXC_LINE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit)\b[^\n]*)$", re.M)


def crash_reason(text: str) -> str | None:
    m = re.findall(r"^(\w+(?:Error|Exception): [^\n]+)$", text, re.M)
    if m:
        return m[-1].strip()[:200]
    m = re.findall(r"Pynguin error in worker process: ([^\n]*)", text)
    if m:
        return m[-1].strip()[:200]
    m = re.search(r"Working outside of [a-z ]*context", text)
    if m:
        return m.group(0)
    hits = [h for h in _EXC_LINE.findall(text) if "Traceback" not in h]
    return hits[-1].strip()[:200] if hits else None


def run_pynguin(fixture: str, run_dir: Path, args) -> dict:
    work = run_dir / "pynguin" / fixture
    project = fresh_copy(fixture, work / "project")
    scratch = work / "cwd"
    scratch.mkdir(parents=True, exist_ok=True)
    mods, empty = source_modules(project)
    before = snapshot(project)
    pyn = str(Path(args.pynguin_venv) / "bin" / "pynguin")
    env = dict(os.environ, PYNGUIN_DANGER_AWARE="1", PYTHONDONTWRITEBYTECODE="1")
    per_module, total = [], 0.0
    dest = project / "pynguin_tests"
    dest.mkdir()
    for mod in mods:
        out = work / "out" / mod
        out.mkdir(parents=True, exist_ok=True)
        logf = work / "logs" / f"{mod}.log"
        logf.parent.mkdir(parents=True, exist_ok=True)
        cmd = [pyn, "--project-path", str(project), "--module-name", mod, "--output-path", str(out),
               "--maximum-search-time", str(args.search_time), "--seed", str(args.seed), "-v", "--no-rich"]
        log(f"pynguin {fixture}: {mod}")
        t0 = time.monotonic()
        timed_out = False
        with logf.open("w") as fh:
            fh.write("$ PYNGUIN_DANGER_AWARE=1 " + " ".join(cmd) + "\n")
            fh.flush()
            proc = subprocess.Popen(cmd, cwd=scratch, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                code = proc.wait(timeout=args.module_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
                code, timed_out = None, True
        secs = time.monotonic() - t0
        total += secs
        files = sorted(out.glob("test_*.py"))
        n = count_tests(files)
        for f in files:
            shutil.copy(f, dest / f"test_pynguin_{mod.replace('.', '_')}.py")
        text = logf.read_text(errors="replace")
        reason = None
        nothing = "SUT contains nothing we can test" in text
        if timed_out:
            reason = f"killed after {args.module_timeout}s"
        elif nothing:
            pass
        elif code != 0 or not files:
            reason = crash_reason(text) or f"exit {code}, no tests written"
        per_module.append({"module": mod, "exit": code, "seconds": round(secs, 1), "tests": n,
                           "crashed": reason is not None, "reason": reason, "nothing_to_test": nothing,
                           "pynguin_coverage": (lambda c: float(c[-1]) if c else None)(_COV.findall(text)),
                           "request_context_error": "Working outside of" in text, "log": str(logf)})
        log(f"  {mod}: exit {code}, {n} tests, {secs:.0f}s" + (f", CRASH: {reason}" if reason else ""))
    m = measure(project, ["tests", "pynguin_tests"], args.python, work / "measure")
    return {
        "engine": "pynguin", "available": True, "wall_seconds": round(total, 1),
        "tests_written": sum(x["tests"] for x in per_module),
        "failing_generated": failing_in(m, work / "measure", "pynguin"),
        "modules": per_module, "empty_modules_skipped": empty, "measure": m,
        "user_files_changed": changed_files(before, snapshot(project)),
    }


def testgen_available(binary: Path) -> tuple[bool, str]:
    if not binary.exists():
        return False, f"{binary} not built"
    p = subprocess.run([str(binary), "generate", "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        return False, "testgen generate not available"
    if "explore" not in p.stdout + p.stderr:
        return False, "testgen generate has no explore engine"
    return True, ""


def run_explore(fixture: str, run_dir: Path, args) -> dict:
    binary = Path(args.testgen)
    ok, why = testgen_available(binary)
    if not ok:
        log(f"explore {fixture}: {why}")
        return {"engine": "testgen explore", "available": False, "reason": why}
    work = run_dir / "explore" / fixture
    project = fresh_copy(fixture, work / "project")
    before = snapshot(project)
    cmd = [str(binary), "generate", str(project), "--engine", "explore", "--json", "--python", args.python]
    log(f"explore {fixture}: {' '.join(cmd)}")
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.module_timeout * 10)
    secs = time.monotonic() - t0
    (work / "stdout.json").write_text(p.stdout)
    (work / "stderr.log").write_text(p.stderr)
    try:
        report = json.loads(p.stdout)
    except json.JSONDecodeError:
        report = None
    gen = sorted((project / "tests" / "generated").glob("test_*.py"))
    m = measure(project, ["tests"], args.python, work / "measure")
    log(f"  explore {fixture}: exit {p.returncode}, {count_tests(gen)} tests, {secs:.0f}s")
    return {
        "engine": "testgen explore", "available": True, "exit": p.returncode,
        "wall_seconds": round(secs, 1), "tests_written": count_tests(gen),
        "failing_generated": failing_in(m, work / "measure", "generated"),
        "testgen_report": report, "stderr_tail": p.stderr[-2000:], "measure": m,
        "user_files_changed": changed_files(before, snapshot(project)),
        "command": " ".join(cmd),
    }


# ------------------------------------------------------------------ report

def pct(m: dict | None) -> str:
    return "n/a" if not m or m.get("line_percent") is None else f"{m['line_percent']:.1f}%"


def testgen_own_figures(report) -> str | None:
    """testgen's own before/after line coverage, from its --json report (docs/generate.md)."""
    if not isinstance(report, dict):
        return None

    def fig(x):
        return f"{x['line_percent']:.1f}%" if isinstance(x, dict) and isinstance(x.get("line_percent"), (int, float)) else "n/a"
    parts = [f"testgen's own line figures (its measurement counts tests/ too): {fig(report.get('coverage_before'))} → {fig(report.get('coverage_after'))}"]
    if report.get("skipped"):
        parts.append(f"targets skipped: {len(report['skipped'])}")
    if report.get("dropped"):
        parts.append(f"tests dropped by validation: {len(report['dropped'])}")
    return "; ".join(parts)


def table(results: list[dict]) -> str:
    lines = ["| fixture | engine | line coverage before → after | tests written | failing tests | wall time | notes |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        base = r["baseline"]
        for e in r["engines"]:
            if not e.get("available"):
                lines.append(f"| {r['fixture']} | {e['engine']} | {pct(base)} → – | – | – | – | {e['reason']} |")
                continue
            m = e["measure"]
            notes = []
            if e["engine"] == "pynguin":
                crashed = [x for x in e["modules"] if x["crashed"]]
                if crashed:
                    notes.append("crashed on " + "; ".join(f"`{x['module']}` ({x['reason']})" for x in crashed))
                ctx = [x["module"] for x in e["modules"] if x["request_context_error"] and not x["crashed"]]
                if ctx:
                    notes.append("'Working outside of request context' during search in " + ", ".join(f"`{c}`" for c in ctx))
                nothing = [x["module"] for x in e["modules"] if x.get("nothing_to_test")]
                notes.append(f"{len(e['modules'])} modules" + (
                    f" ({', '.join(f'`{n}`' for n in nothing)}: 'SUT contains nothing we can test')" if nothing else ""))
            else:
                if e.get("exit"):
                    notes.append(f"exit {e['exit']}")
                own = testgen_own_figures(e.get("testgen_report"))
                if own:
                    notes.append(own)
            own_failing = m["junit"]["failing"] - e["failing_generated"]
            if own_failing:
                notes.append(f"{own_failing} failing/erroring in the fixture's own suite afterwards")
            if m["junit"]["xfailed"]:
                notes.append(f"{m['junit']['xfailed']} xfail-marked")
            if m["junit"]["skipped"]:
                notes.append(f"{m['junit']['skipped']} skipped")
            if e["user_files_changed"]:
                notes.append("user files changed: " + ", ".join(e["user_files_changed"]))
            if m.get("pytest_exit") is None:
                notes.append("pytest timed out")
            lines.append(
                f"| {r['fixture']} | {e['engine']} | {pct(base)} → {pct(m)} | {e['tests_written']} | "
                f"{e['failing_generated']} | {e['wall_seconds']:.0f} s | {'; '.join(notes)} |")
    return "\n".join(lines)


def baseline_table(results: list[dict]) -> str:
    lines = ["| fixture | own tests | failing | statements | line coverage |", "|---|---|---|---|---|"]
    for r in results:
        b = r["baseline"]
        lines.append(f"| {r['fixture']} | {b['junit']['tests']} | {b['junit']['failing']} | "
                     f"{b['statements']} | {pct(b)} ({b['covered']}/{b['statements']}) |")
    return "\n".join(lines)


def render(results: list[dict]) -> str:
    return "Own partial suites (baseline):\n\n" + baseline_table(results) + "\n\n" + table(results) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=",".join(FIXTURES))
    ap.add_argument("--engines", default="pynguin,explore")
    ap.add_argument("--search-time", type=int, default=60, help="Pynguin --maximum-search-time per module")
    ap.add_argument("--module-timeout", type=int, default=600, help="hard kill for one Pynguin module")
    ap.add_argument("--seed", type=int, default=1, help="Pynguin --seed")
    ap.add_argument("--python", default=str(REPO / ".venv-test" / "bin" / "python"),
                    help="interpreter that measures coverage and that testgen generates with")
    ap.add_argument("--pynguin-venv", default=str(REPO / "target" / "bench-cache" / "pynguin-venv"))
    ap.add_argument("--testgen", default=str(REPO / "target" / "release" / "testgen"))
    ap.add_argument("--out", default=str(REPO / "target" / "bench-cache" / "pynguin_vs_explore"))
    ap.add_argument("--print-deps", action="store_true", help="print the fixtures' dependencies and exit")
    ap.add_argument("--report", metavar="RESULTS_JSON", help="print the tables of an earlier run and exit")
    args = ap.parse_args()
    if args.report:
        results = json.loads(Path(args.report).read_text())
        print(render(results))
        return 0
    fixtures = [f for f in args.fixtures.split(",") if f]
    if args.print_deps:
        deps = sorted({d for f in fixtures for d in fixture_dependencies(REPO / "tests" / "fixtures" / f)})
        print("\n".join(deps))
        return 0
    engines = [e for e in args.engines.split(",") if e]
    run_dir = Path(args.out) / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True)
    log(f"run dir {run_dir}")
    results = []
    for fx in fixtures:
        base_copy = fresh_copy(fx, run_dir / "baseline" / fx / "project")
        base = measure(base_copy, ["tests"], args.python, run_dir / "baseline" / fx / "measure")
        log(f"baseline {fx}: {pct(base)} ({base['summary']})")
        r = {"fixture": fx, "baseline": base, "engines": []}
        if "pynguin" in engines:
            r["engines"].append(run_pynguin(fx, run_dir, args))
        if "explore" in engines:
            r["engines"].append(run_explore(fx, run_dir, args))
        results.append(r)
        (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    md = render(results)
    (run_dir / "table.md").write_text(md)
    print(md)
    log(f"results: {run_dir / 'results.json'}, {run_dir / 'table.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
