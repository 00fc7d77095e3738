#!/usr/bin/env python3
"""Greps src/ for the coroutine shapes that GCC 12 miscompiles (docs/architecture.md, "GCC 12
coroutine pitfalls"); each one crashed here.

  1. co_await inside a conditional operator, or a conditional operator inside a co_await
     expression: both are reported for any statement holding `co_await` and `?`.
  2. A lambda with captures whose body is a coroutine (co_await, co_return or co_yield).
  3. A lambda with captures passed inside a co_await expression (a prvalue closure handed to a
     coroutine by value).
  4. A coroutine (returns ...awaitable<...>) with a defaulted by-value parameter of a type that
     is not known to be trivial: each call that omits it creates a prvalue temporary. A line
     whose type is trivial after all says so with a `// gcc12: trivial` comment.

Comments, string and character literals are blanked before matching, so a comment that quotes
a bad shape is fine.

  check_coroutine_rules.py [--src DIR]   exit 1 and name file:line per finding
  check_coroutine_rules.py --self-test    check that each rule catches its fixture
"""

import argparse
import bisect
import os
import re
import sys
import tempfile

SOURCE_EXTENSIONS = (".hpp", ".cpp", ".h", ".cc", ".ipp", ".inc")
TRIVIAL_MARK = "// gcc12: trivial"
COROUTINE_KEYWORD = re.compile(r"\bco_(await|return|yield)\b")
CO_AWAIT = re.compile(r"\bco_await\b")
# By-value parameter types that are trivially destructible: no temporary to destroy twice.
TRIVIAL_TYPE = re.compile(
    r"^(const\s+)?("
    r"bool|char|wchar_t|char8_t|char16_t|char32_t|short|int|long|long long|unsigned|signed"
    r"|unsigned \w+|signed \w+|float|double|long double|auto"
    r"|(std::)?(size_t|ptrdiff_t|u?int(8|16|32|64|ptr|max)_t|nullptr_t)"
    r"|std::(string_view|span<.*>|chrono::\w+(<.*>)?)"
    r"|(boost::)?(asio::)?(system::)?error_code"
    r")$"
)


def blank(text):
    """Replaces comments and the contents of string and character literals with spaces,
    keeping every newline (and so every line number) where it was."""
    out = list(text)
    i, n = 0, len(text)

    def wipe(start, end):
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            wipe(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            wipe(i, end)
            i = end
        elif c == "R" and text.startswith('"', i + 1) and not (i and re.match(r"\w", text[i - 1])):
            m = re.match(r'R"([^(\s]{0,16})\(', text[i:])
            if not m:
                i += 1
                continue
            close = ")" + m.group(1) + '"'
            end = text.find(close, i + m.end())
            end = n if end < 0 else end + len(close)
            wipe(i + 1, end)
            i = end
        elif c in "\"'":
            if c == "'" and i and re.match(r"[0-9A-Fa-f]", text[i - 1]) and re.match(
                r"[0-9A-Fa-f]", text[i + 1 : i + 2]
            ):
                i += 1  # a digit separator (1'000'000)
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def matching(code, start, open_char, close_char):
    """Index just past the bracket that closes the one at `start`, or -1."""
    depth = 0
    for k in range(start, len(code)):
        if code[k] == open_char:
            depth += 1
        elif code[k] == close_char:
            depth -= 1
            if depth == 0:
                return k + 1
    return -1


def skip_space(code, i):
    while i < len(code) and code[i].isspace():
        i += 1
    return i


def find_lambdas(code):
    """Yields (introducer start, capture text, body start, body end) for every lambda."""
    for m in re.finditer(r"\[", code):
        start = m.start()
        if code.startswith("[[", start) or (start and code[start - 1] == "["):
            continue  # an attribute
        before = code[:start].rstrip()
        if before and (re.match(r"[\w)\]>\"']", before[-1]) and not before.endswith("return")):
            continue  # a subscript, new[]/delete[], a structured binding's auto
        close = matching(code, start, "[", "]")
        if close < 0:
            continue
        capture = code[start + 1 : close - 1].strip()
        i = skip_space(code, close)
        if code.startswith("<", i):  # template parameter list
            depth, k = 0, i
            while k < len(code):
                depth += {"<": 1, ">": -1}.get(code[k], 0)
                k += 1
                if depth == 0:
                    break
            i = skip_space(code, k)
        if code.startswith("(", i):
            i = matching(code, i, "(", ")")
            if i < 0:
                continue
            i = skip_space(code, i)
        while True:  # specifiers and a trailing return type, up to the body
            word = re.match(r"(mutable|constexpr|consteval|static|noexcept)\b", code[i:])
            if word:
                i = skip_space(code, i + word.end())
                if code.startswith("(", i):
                    i = skip_space(code, matching(code, i, "(", ")"))
                continue
            if code.startswith("->", i):
                brace = code.find("{", i)
                stop = re.search(r"[;)]", code[i:])
                if brace < 0 or (stop and i + stop.start() < brace):
                    break
                i = brace
            break
        if not code.startswith("{", i):
            continue
        end = matching(code, i, "{", "}")
        if end > 0:
            yield start, capture, i, end


def coroutine_parameter_lists(code):
    """Yields (offset, parameter text) for functions declared to return ...awaitable<...>."""
    for m in re.finditer(r"\bawaitable\s*<", code):
        depth, k = 0, m.end() - 1
        while k < len(code):
            depth += {"<": 1, ">": -1}.get(code[k], 0)
            k += 1
            if depth == 0:
                break
        before = code[: m.start()].rstrip()
        before = re.sub(r"[\w:]*$", "", before).rstrip()  # the namespace qualifier
        if before.endswith("->"):
            # auto name(params) [const] [noexcept] -> awaitable<...>
            head = re.sub(r"(\s*\b(const|noexcept|override|final)\b)*\s*$", "", before[:-2])
            if not head.endswith(")"):
                continue
            depth, j = 0, len(head) - 1
            while j >= 0:
                depth += {")": 1, "(": -1}.get(head[j], 0)
                if depth == 0:
                    break
                j -= 1
            if j >= 0:
                yield j, head[j + 1 : -1]
            continue
        name = re.match(r"\s*([A-Za-z_][\w:~]*)\s*\(", code[k:])
        if name:
            open_paren = k + name.end() - 1
            close = matching(code, open_paren, "(", ")")
            if close > 0:
                yield open_paren, code[open_paren + 1 : close - 1]


def split_top_level(text, sep=","):
    parts, depth, current = [], 0, []
    for c in text:
        if c in "(<[{":
            depth += 1
        elif c in ")>]}":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def check_file(path, shown):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    code = blank(text)
    lines = text.splitlines()
    newlines = [k for k, c in enumerate(code) if c == "\n"]

    def line_of(offset):
        return bisect.bisect_right(newlines, offset - 1) + 1

    findings = []

    def report(offset, message):
        findings.append((line_of(offset), f"{shown}:{line_of(offset)}: {message}"))

    # Rule 1: a statement (text between ; { }) holding both co_await and a conditional operator.
    start = 0
    for k in range(len(code) + 1):
        if k == len(code) or code[k] in ";{}":
            segment = code[start:k]
            question = segment.find("?")
            awaited = CO_AWAIT.search(segment)
            if question >= 0 and awaited:
                if awaited.start() > question:
                    report(start + awaited.start(), "co_await inside a conditional operator ?: "
                           "(GCC 12 resumes the wrong frame): use if/else")
                else:
                    report(start + question, "a conditional operator ?: inside a co_await "
                           "expression (GCC 12 destroys its temporaries twice): hoist it into "
                           "a local")
            start = k + 1

    lambdas = list(find_lambdas(code))
    for intro, capture, body_start, body_end in lambdas:
        # Rule 2: a capturing lambda that is itself a coroutine (nested lambdas' bodies aside).
        if capture:
            own = list(code[body_start:body_end])
            for _, _, inner_start, inner_end in lambdas:
                if body_start < inner_start and inner_end <= body_end:
                    for k in range(inner_start - body_start, inner_end - body_start):
                        own[k] = " "
            if COROUTINE_KEYWORD.search("".join(own)):
                report(intro, f"a coroutine lambda with captures [{capture}] (GCC 12 destroys "
                       "the closure twice): capture nothing and take what it needs as "
                       "reference parameters, or make it a named coroutine")
        # Rule 3: a capturing lambda handed over inside a co_await expression.
        if capture:
            segment_start = max(code.rfind(c, 0, intro) for c in ";{}") + 1
            if CO_AWAIT.search(code[segment_start:intro]):
                report(intro, f"a lambda with captures [{capture}] passed in a co_await "
                       "expression (a prvalue closure by value to a coroutine, destroyed twice "
                       "by GCC 12): make it a named local and pass that")

    # Rule 4: a coroutine's defaulted by-value parameter of a type not known to be trivial.
    for offset, params in coroutine_parameter_lists(code):
        position = offset + 1
        for param in split_top_level(params):
            here = position + len(param) - len(param.lstrip())
            position += len(param) + 1
            parts = split_top_level(param, "=")
            if len(parts) < 2:
                continue
            declaration = " ".join(parts[0].split())
            if "&" in declaration or "*" in declaration:
                continue
            type_name = re.sub(r"\s*\b[A-Za-z_]\w*$", "", declaration).strip()
            if not type_name or TRIVIAL_TYPE.match(type_name):
                continue
            if TRIVIAL_MARK in lines[line_of(here) - 1]:
                continue
            report(here, f"coroutine parameter '{declaration}' has a default argument: a call "
                   "that omits it passes a prvalue temporary by value, which GCC 12 destroys "
                   f"twice; take it by reference or overload (or mark '{TRIVIAL_MARK}')")
    return [message for _, message in sorted(findings)]


def check(src_root):
    top = os.path.dirname(os.path.abspath(src_root))
    findings = []
    for dirpath, dirnames, filenames in os.walk(src_root):
        dirnames.sort()
        for filename in sorted(filenames):
            if filename.endswith(SOURCE_EXTENSIONS):
                path = os.path.join(dirpath, filename)
                findings += check_file(path, os.path.relpath(path, top))
    return findings


# Each fixture line ending in "// BAD" must be reported, and no other line.
SELF_TEST_FIXTURE = r"""
asio::awaitable<int> pick(bool c) {
  int x = c ? co_await a() : co_await b();  // BAD rule 1
  int y = c ?
      1 : co_await b();  // BAD rule 1 across lines
  co_await f(c ? make_string() : other);  // BAD rule 2
  co_await g();
  int z = c ? 1 : 2;
  // int w = c ? co_await a() : 0;  a comment is fine
  log("is it ? co_await : no");
  std::string s = c ? "?" : ":";
  co_return z;
}

void spawn(asio::io_context& io, int n) {
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { co_await step(); }, detached);  // BAD
  asio::co_spawn(io, [this, n]() -> asio::awaitable<void> {  // BAD rule 2 (with a return type)
    co_return;
  }, detached);
  asio::co_spawn(io, [=]() mutable -> net::awaitable<void> {  // BAD rule 2 (mutable)
    co_await step();
  }, detached);
  asio::co_spawn(io, [](State& s) -> asio::awaitable<void> { co_await s.step(); }, detached);
  auto plain = [&] { return n + 1; };
  auto outer = [&] {
    asio::co_spawn(io, [](int) -> asio::awaitable<void> { co_return; }, detached);
  };
  int v[3] = {1, 2, 3};
  auto [p, q] = pair();
  v[0] = v[1];
  [[maybe_unused]] int unused = 0;
}

asio::awaitable<void> calls(Thing& t) {
  co_await t.run([&] { return 1; });  // BAD rule 3
  auto named = [&] { return 1; };
  co_await t.run(named);
}

asio::awaitable<void> send(std::string_view a, std::string b = {},  // BAD rule 4
                           int n = 0, std::chrono::milliseconds t = 1s);
asio::awaitable<void> fetch(const std::string& key = "", Options o = {});  // BAD rule 4
asio::awaitable<void> mark(Mode m = Mode::fast);  // gcc12: trivial
auto later(std::vector<int> v = {}) -> boost::asio::awaitable<void>;  // BAD rule 4 (trailing)
void not_a_coroutine(std::string s = {});
std::function<asio::awaitable<void>(int)> callback;
auto big = 1'000'000;
"""


def self_test():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        os.makedirs(os.path.join(src, "m"))
        with open(os.path.join(src, "m", "fixture.cpp"), "w", encoding="utf-8") as f:
            f.write(SELF_TEST_FIXTURE)
        found = check(src)
        reported = {int(re.match(r"src/m/fixture\.cpp:(\d+):", p).group(1)) for p in found}
        lines = SELF_TEST_FIXTURE.splitlines()
        expected = {n for n, line in enumerate(lines, 1) if "// BAD" in line}
        for n in sorted(expected - reported):
            failures.append(f"line {n} not reported: {lines[n - 1].strip()}")
        for n in sorted(reported - expected):
            failures.append(f"line {n} reported wrongly: {lines[n - 1].strip()}")
        for rule, needle in [(1, "inside a conditional operator"), (1, "inside a co_await"),
                             (2, "coroutine lambda with captures"), (3, "passed in a co_await"),
                             (4, "has a default argument")]:
            if not any(needle in p for p in found):
                failures.append(f"rule {rule}: no finding says '{needle}'")
    for failure in failures:
        print(f"self-test: {failure}", file=sys.stderr)
    print(f"self-test: {'FAILED' if failures else 'passed'}")
    return 1 if failures else 0


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=os.path.join(root, "src"))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    findings = check(args.src)
    for f in findings:
        print(f, file=sys.stderr)
    if findings:
        print(f"{len(findings)} GCC 12 coroutine rule finding(s); see docs/architecture.md",
              file=sys.stderr)
        return 1
    print("no GCC 12 coroutine pitfalls found in", args.src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
