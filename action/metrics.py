"""Prints the Action's outputs (`name=value` lines for $GITHUB_OUTPUT) from
.testgen/iteration_report.json; prints nothing when the run wrote none."""

import json
import sys


def main(path):
    try:
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError):
        return
    print(f"coverage_before={r['coverage_before']['line_percent']}")
    print(f"coverage_after={r['coverage_after']['line_percent']}")
    print(f"tests_generated={sum(len(f['tests']) for f in r['generated'])}")
    print(f"passed={str(r['passed']).lower()}")
    changed = r.get("changed")
    print(f"changed_coverage={changed['coverage_after'] if changed else ''}")


if __name__ == "__main__":
    main(sys.argv[1])
