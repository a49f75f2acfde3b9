# SPDX-License-Identifier: BSD-3-Clause
"""Helpers shared by the source checkers in tools/ (check-forbidden, check-purity)."""

import os
import re
import sys

# An identifier that is called, not a member (`ops->exit(`, `s.abort(`) nor part of a
# longer name (`_exit(`, `vsnprintf(`, `tern_abort_x(`).
CALL = r"(?<![\w.])(?<!->)"


def strip_c(text):
    """Return (code, bare): @p text with comments blanked, and also with string and
    character literals blanked. Both keep every newline and column, so line numbers and
    offsets still match the file."""
    code = []
    bare = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        two = text[i : i + 2]
        if two == "//":
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank = " " * (j - i)
            code.append(blank)
            bare.append(blank)
            i = j
        elif two == "/*":
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank = re.sub(r"[^\n]", " ", text[i:j])
            code.append(blank)
            bare.append(blank)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            lit = text[i:j]
            code.append(lit)
            bare.append(c + re.sub(r"[^\n]", " ", lit[1:-1]) + lit[-1] if len(lit) > 1 else lit)
            i = j
        else:
            code.append(c)
            bare.append(c)
            i += 1
    return "".join(code), "".join(bare)


def c_files(top):
    """Every .c and .h file under @p top, sorted; nothing when @p top does not exist."""
    out = []
    for d, subdirs, files in os.walk(top):
        subdirs[:] = sorted(s for s in subdirs if not s.startswith("."))
        out += [os.path.join(d, f) for f in sorted(files) if f.endswith((".c", ".h"))]
    return out


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def scan(path, rules, root):
    """Apply @p rules, a list of (regex, which, message) where which is "code" (comments
    removed) or "bare" (comments and literals removed), to the file @p path. Returns
    "file:line: message: source line" strings."""
    raw = read(path)
    versions = dict(zip(("code", "bare"), strip_c(raw)))
    lines = raw.split("\n")
    rel = os.path.relpath(path, root)
    found = []
    for regex, which, msg in rules:
        for m in re.finditer(regex, versions[which]):
            ln = line_of(raw, m.start())
            found.append((ln, f"{rel}:{ln}: {msg}: {lines[ln - 1].strip()}"))
    return [f for _, f in sorted(found)]


def usage(argv, text):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(text.strip())
        sys.exit(0 if len(argv) >= 2 else 2)
