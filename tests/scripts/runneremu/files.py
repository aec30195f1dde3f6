"""The runner's command files: GITHUB_OUTPUT, GITHUB_ENV (`name=value`
lines and `name<<DELIMITER` blocks) and GITHUB_PATH (one directory a line)."""

import os


def read_kv(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise SystemExit(f"{path}: {delim} never closes {name}")
            i += 1
            out[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            out[name] = value
        else:
            # The runner fails the step on such a line.
            raise SystemExit(f"{path}: unreadable line {line!r}")
    return out


def read_lines(path):
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as f:
        return [l for l in f.read().split("\n") if l.strip()]


def touch(path):
    open(path, "a").close()
    return path
