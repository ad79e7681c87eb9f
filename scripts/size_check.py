#!/usr/bin/env python3
"""Reports C++ functions longer than 80 lines and source files longer than 700 lines.

usage: size_check.py [--report-only] [--max-function N] [--max-file N] DIR_OR_FILE...

A function is counted from the first line of its signature to its closing brace. Comments,
string literals and preprocessor lines are blanked before braces are matched, so a brace in a
string or a macro does not open a body. Lambdas and local classes count toward the function
that holds them; methods defined in a class body count on their own. Prints one line per
offender ("function FILE:LINE NAME N lines" / "file FILE N lines") and a summary; exits 1 when
there is any offender, unless --report-only.
"""
import argparse
import pathlib
import re
import sys

SOURCE_SUFFIXES = (".cc", ".h", ".c", ".cpp", ".hpp")
# Scopes whose braces hold declarations, not statements: what they contain is looked at again.
SCOPE_WORDS = re.compile(r"\b(namespace|class|struct|union|enum)\b|\bextern\s*$")
CTOR_INIT = re.compile(r"\)\s*(noexcept\s*)?:(?!:)")


def blank(text: str) -> str:
    """`text` with comments, literals and preprocessor lines replaced by spaces (newlines kept)."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c in " \t":
            out.append(c)
            i += 1
            continue
        if line_start and c == "#":  # a directive, with its continuation lines
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        line_start = c == "\n"
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('"', i + 1) and (i == 0 or not text[i - 1].isalnum()):
            open_paren = text.find("(", i + 2)
            delim = text[i + 2:open_paren]
            j = text.find(")" + delim + '"', open_paren)
            j = n if j < 0 else j + len(delim) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum() and i + 1 < n and text[i + 1].isalnum():
                out.append(" ")  # a digit separator (1'000)
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(text: str):
    """(name, first line, last line) of every function body in C++ source `text`."""
    code = blank(text)
    found = []
    stack = []  # "scope" (namespace, class...), "fn", "inner" (a block in a fn), "init"
    header_start = 0  # offset where the current declaration began
    fn_start_line = 0
    fn_name = ""
    line = 1
    header_line = None  # line of the first non-blank character of the declaration
    for i, c in enumerate(code):
        if c == "\n":
            line += 1
            continue
        in_fn = any(s == "fn" for s in stack)
        if not in_fn and header_line is None and not c.isspace() and c not in ";{}":
            header_line = line
        if c == "{":
            if in_fn:
                stack.append("inner")
                continue
            header = code[header_start:i]
            flat = " ".join(header.split())
            if CTOR_INIT.search(flat) and re.search(r"[\w>]\s*$", flat) and not re.search(
                    r"\)\s*(const|noexcept|override|final|\s)*$", flat):
                stack.append("init")  # a brace initializer in a constructor's init list
                continue
            if "(" in flat and (not re.search(r"(?<![=!<>])=(?!=)", flat.split("(")[0]) or
                                re.search(r"\]\s*\(", flat)):
                stack.append("fn")
                fn_start_line = header_line or line
                names = re.findall(r"([~\w:]+(?:operator\s*\S+?)?)\s*\(", flat)
                fn_name = names[0] if names else flat[:40]
            elif SCOPE_WORDS.search(flat) or flat in ("", "extern"):
                stack.append("scope")
            else:
                stack.append("other")
            header_start = i + 1
            header_line = None
        elif c == "}":
            kind = stack.pop() if stack else "scope"
            if kind == "fn":
                found.append((fn_name, fn_start_line, line))
            if kind in ("init", "inner"):
                continue
            header_start = i + 1
            header_line = None
        elif c == ";" and not in_fn and (not stack or stack[-1] != "init"):
            header_start = i + 1
            header_line = None
    return found


def source_files(paths):
    for p in paths:
        p = pathlib.Path(p)
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.suffix in SOURCE_SUFFIXES + (".py",)
                              and f.is_file())
        else:
            yield p


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-only", action="store_true",
                        help="print the offenders but exit 0")
    parser.add_argument("--max-function", type=int, default=80)
    parser.add_argument("--max-file", type=int, default=700)
    parser.add_argument("paths", nargs="+")
    args = parser.parse_args(argv)
    offenders = 0
    files = 0
    for path in source_files(args.paths):
        files += 1
        text = path.read_text(errors="replace")
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if lines > args.max_file:
            print(f"file {path} {lines} lines")
            offenders += 1
        if path.suffix == ".py":
            continue
        for name, first, last in functions(text):
            length = last - first + 1
            if length > args.max_function:
                print(f"function {path}:{first} {name} {length} lines")
                offenders += 1
    print(f"size check: {files} files, {offenders} over the limits "
          f"(functions <= {args.max_function} lines, files <= {args.max_file} lines)")
    return 0 if offenders == 0 or args.report_only else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
