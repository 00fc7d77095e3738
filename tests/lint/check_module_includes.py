#!/usr/bin/env python3
"""Checks that each module under src/ includes only the modules docs/architecture.md allows.

The table in the doc's "Modules and dependencies" section is the single source of truth: its
"depends on" column lists a module's direct dependencies, and a module may include itself and
any module reachable through them (upstream -> net -> core). Entries that are not module names
(Asio, hiredis, ...) are third-party libraries and ignored here; "everything" allows all.
Reading the #include lines covers header-only code, which linking cannot see.

  check_module_includes.py [--src DIR] [--doc FILE]   exit 1 and name file:line per violation
  check_module_includes.py --self-test                 run the checker on built-in fixtures
"""

import argparse
import os
import re
import sys
import tempfile

SOURCE_EXTENSIONS = (".hpp", ".cpp", ".h", ".cc", ".ipp", ".inc")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SECTION_RE = re.compile(r"^##\s+Modules and dependencies\s*$")


class TableError(Exception):
    pass


def parse_table(doc_path):
    """Returns {module: set of direct module dependencies} from the doc's module table."""
    with open(doc_path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    start = next((i for i, line in enumerate(lines) if SECTION_RE.match(line)), None)
    if start is None:
        raise TableError(f"{doc_path}: no '## Modules and dependencies' section")
    rows = []
    header = None
    for number, line in enumerate(lines[start + 1 :], start + 2):
        if line.startswith("## "):
            break
        if not line.startswith("|"):
            if rows:
                break  # the table ended
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = [c.lower() for c in cells]
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue  # the |---|---| line
        rows.append((number, cells))
    if header is None or "module" not in header or "depends on" not in header:
        raise TableError(f"{doc_path}: the module table needs 'module' and 'depends on' columns")
    name_col, deps_col = header.index("module"), header.index("depends on")
    raw = {}
    for number, cells in rows:
        name = cells[name_col].strip("` ")
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise TableError(f"{doc_path}:{number}: '{cells[name_col]}' is not a module name")
        raw[name] = [d.strip("` ") for d in cells[deps_col].split(",") if d.strip()]
    table = {}
    for name, deps in raw.items():
        if any(d.lower() == "everything" for d in deps):
            table[name] = set(raw) - {name}
        else:
            table[name] = {d for d in deps if d in raw}  # the rest are third-party libraries
    return table


def allowed_modules(table):
    """Module -> itself plus everything reachable through its direct dependencies."""
    allowed = {}
    for module in table:
        seen, stack = {module}, [module]
        while stack:
            for dep in table[stack.pop()]:
                if dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
        allowed[module] = seen
    return allowed


def strip_block_comments(text):
    """Blanks /* ... */ comments, keeping line numbers."""
    return re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)


def included_module(src_root, file_path, kind, target):
    """The src/ module an #include names, or None for the standard library and third parties.

    Quoted includes are looked up next to the including file first, then in src/ (as the
    compiler does); an angle include counts only if it names a file under src/ (so <net/if.h>
    is the system's). A quoted "<module>/..." that exists nowhere yet still names the module.
    """
    candidates = []
    if kind == '"':
        candidates.append(os.path.join(os.path.dirname(file_path), target))
    candidates.append(os.path.join(src_root, target))
    for candidate in candidates:
        if os.path.isfile(candidate):
            rel = os.path.relpath(os.path.realpath(candidate), os.path.realpath(src_root))
            if rel.startswith(".."):
                return None
            parts = rel.split(os.sep)
            return parts[0] if len(parts) > 1 else ""
    if kind == '"' and "/" in target:
        return target.split("/", 1)[0]
    return None


def check(src_root, doc_path):
    """Returns the list of violation messages (empty when the tree follows the table)."""
    table = parse_table(doc_path)
    allowed = allowed_modules(table)
    top = os.path.dirname(os.path.abspath(src_root))
    shown = lambda path: os.path.relpath(path, top)  # src/<module>/<file>
    doc_name = shown(doc_path) if os.path.abspath(doc_path).startswith(top) else doc_path
    problems = []
    for entry in sorted(os.listdir(src_root)):
        path = os.path.join(src_root, entry)
        if os.path.isdir(path) and entry not in table:
            problems.append(f"{shown(path)}: module '{entry}' is not in the table of {doc_name}")
        elif os.path.isfile(path) and entry.endswith(SOURCE_EXTENSIONS):
            problems.append(f"{shown(path)}: source files belong in a module folder")
    for module in sorted(m for m in os.listdir(src_root) if m in table):
        for dirpath, dirnames, filenames in os.walk(os.path.join(src_root, module)):
            dirnames.sort()
            for filename in sorted(filenames):
                if not filename.endswith(SOURCE_EXTENSIONS):
                    continue
                file_path = os.path.join(dirpath, filename)
                with open(file_path, encoding="utf-8", errors="replace") as f:
                    text = strip_block_comments(f.read())
                for number, line in enumerate(text.splitlines(), 1):
                    match = INCLUDE_RE.match(line)
                    if not match:
                        continue
                    kind, target = match.groups()
                    other = included_module(src_root, file_path, kind, target)
                    if other is None or other in allowed[module]:
                        continue
                    if other == "":
                        why = "a file loose in src/"
                    elif other not in table:
                        why = f"'{other}', which is not in the table"
                    else:
                        why = f"module '{other}'"
                    may = ", ".join(sorted(allowed[module]))
                    problems.append(
                        f"{shown(file_path)}:{number}: '{module}' includes {kind}{target}"
                        f"{'>' if kind == '<' else kind}: {why}; per {doc_name} it may include"
                        f" only {may}"
                    )
    return problems


SELF_TEST_DOC = """# fixture

## Modules and dependencies

| module | does | depends on |
|---|---|---|
| `base` | the bottom | Boost.System |
| `mid` | in between | base, Asio |
| `top` | on top | `mid` |
| `side` | header-only | base |
| `main` | wiring | everything |

## Next section
| `ghost` | not part of the table | top |
"""

SELF_TEST_FILES = {
    "base/a.hpp": '#include <string>\n#include "base/b.hpp"\n',
    "base/b.hpp": "// #include \"top/t.hpp\" in a comment is not an include\n",
    "mid/m.cpp": '#include "mid/m.hpp"\n#include "base/a.hpp"\n#include <net/if.h>\n',
    "mid/m.hpp": '/* #include "top/t.hpp"\n   still a comment */\n#include "top/t.hpp"\n',
    "top/t.hpp": '#include "base/a.hpp"\n#include "mid/m.hpp"\n',
    "top/sub/deep.cpp": '#include "../t.hpp"\n#include "../../side/s.hpp"\n',
    "side/s.hpp": '#include "base/a.hpp"\n  #  include <mid/m.hpp>\n#include "mid/later.hpp"\n',
    "main/main.cpp": '#include "top/t.hpp"\n#include "side/s.hpp"\n#include "stray/x.hpp"\n',
    "stray/x.hpp": '#include "base/a.hpp"\n',
}

SELF_TEST_EXPECTED = {
    ("mid/m.hpp", 3),  # mid -> top: not allowed
    ("top/sub/deep.cpp", 2),  # relative include into another module
    ("side/s.hpp", 2),  # angle include of a module header
    ("side/s.hpp", 3),  # a file that does not exist yet still names its module
    ("main/main.cpp", 3),  # a folder that is not in the table
}


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        doc = os.path.join(tmp, "architecture.md")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(SELF_TEST_DOC)
        src = os.path.join(tmp, "src")
        for rel, content in SELF_TEST_FILES.items():
            os.makedirs(os.path.dirname(os.path.join(src, rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w", encoding="utf-8") as f:
                f.write(content)

        table = parse_table(doc)
        expected_table = {
            "base": set(),
            "mid": {"base"},
            "top": {"mid"},
            "side": {"base"},
            "main": {"base", "mid", "top", "side"},
        }
        if table != expected_table:
            failures.append(f"parsed table {table}, expected {expected_table}")
        if allowed_modules(table)["top"] != {"top", "mid", "base"}:
            failures.append("top should reach base through mid")

        problems = check(src, doc)
        found = set()
        for p in problems:
            m = re.match(r"src/(.+?):(\d+): ", p)
            if m:
                found.add((m.group(1), int(m.group(2))))
        if found != SELF_TEST_EXPECTED:
            failures.append(
                f"violations found {sorted(found)}, expected {sorted(SELF_TEST_EXPECTED)}"
            )
        if not any("module 'stray' is not in the table" in p for p in problems):
            failures.append("the folder missing from the table was not reported")
        if not any("'mid' includes \"top/t.hpp\"" in p and "only base, mid" in p for p in problems):
            failures.append("a violation must name the include and what is allowed")

        with open(os.path.join(src, "loose.hpp"), "w", encoding="utf-8") as f:
            f.write("\n")
        if not any("loose.hpp: source files belong in a module folder" in p for p in check(src, doc)):
            failures.append("a source file loose in src/ was not reported")

        with open(doc, "w", encoding="utf-8") as f:
            f.write("# no table here\n")
        try:
            parse_table(doc)
            failures.append("a doc without the table must be an error")
        except TableError:
            pass
    for failure in failures:
        print(f"self-test: {failure}", file=sys.stderr)
    print(f"self-test: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=os.path.join(root, "src"))
    parser.add_argument("--doc", default=os.path.join(root, "docs", "architecture.md"))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    try:
        problems = check(args.src, args.doc)
    except TableError as e:
        print(e, file=sys.stderr)
        return 1
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) with the module table in {args.doc}", file=sys.stderr)
        return 1
    print("module includes follow", args.doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
