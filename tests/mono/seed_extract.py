"""seed_extract: find the C# program ("UnChat") in the seed's tutorial text
and write its files to a directory, so that a test can compile and run the
seed's own program. The repository holds none of that code: it is read from
the seed file at test time.

    python3 seed_extract.py SEED_TXT OUT_DIR

The tutorial prints each file of its program as plain text, interleaved
with its prose. A block of code starts at a line `using ...;` or
`namespace ...` and ends where the braces it opened are all closed (braces
inside string and character literals and // comments do not count). The
blocks that declare `namespace UnChat` are the program; the tutorial's
other examples (a C program, an HTTP client) are not. Each is named after
the type it declares: Program.cs, Talker.cs, Form1.Designer.cs.

What is repaired, and only that (each printed, with how many times):
  - the page put an empty line between every two lines of code: empty lines
    are dropped (C# does not care; it keeps the files readable);
  - Program calls `ShowUsage()` three times but the method is printed under
    another name (the tutorial renamed the definition and not its calls):
    the definition takes the name the calls use. Nothing in its body changes.
Everything else is written as printed, line for line. Lines split in the
middle of a statement (`public` / `static` / `void Main(...)` on three
lines) are left as they are: to C# a line break is a space.

The page does not print the program's window class (TalkForm, which
Program creates); tests/mono/TalkForm.cs is ours, and only connects two
text boxes to the seed's Talker.

Exit status: 0 when the three files are written; 1 when the text is not
what this script knows (a file missing, a repair that does not apply), with
what was found.
"""
import os
import re
import sys

# The files of the program, by a declaration each contains.
FILES = (
    ("Program.cs", re.compile(r"\bclass\s+Program\b")),
    ("Talker.cs", re.compile(r"\bclass\s+Talker\b")),
    ("Form1.Designer.cs", re.compile(r"\bpartial\s+class\s+Form1\b")),
)
START = re.compile(r"^\s*(using\s+[\w.]+\s*;|namespace\s+\w+)")


def brace_delta(line, state):
    """How much a line changes the brace depth, skipping "..." and '...'
    literals and // comments. state["in_comment"] tracks /* */ comments
    across lines; state["opened"] becomes True at the first brace."""
    depth = 0
    i, n = 0, len(line)
    while i < n:
        c = line[i]
        if state["in_comment"]:
            if line.startswith("*/", i):
                state["in_comment"] = False
                i += 2
                continue
            i += 1
            continue
        if line.startswith("//", i):
            break
        if line.startswith("/*", i):
            state["in_comment"] = True
            i += 2
            continue
        if c in "\"'":
            i += 1
            while i < n and line[i] != c:
                i += 2 if line[i] == "\\" else 1
            i += 1
            continue
        if c == "{":
            depth += 1
            state["opened"] = True
        elif c == "}":
            depth -= 1
        i += 1
    return depth


def blocks(lines):
    """Every block of C# code in the text: lists of lines."""
    out = []
    i = 0
    while i < len(lines):
        if not START.match(lines[i]):
            i += 1
            continue
        block, depth, state = [], 0, {"in_comment": False, "opened": False}
        while i < len(lines):
            block.append(lines[i])
            depth += brace_delta(lines[i], state)
            i += 1
            if state["opened"] and depth <= 0:
                break
        out.append(block)
    return out


def rename_usage(text, repairs):
    """The definition of Program's usage method takes the name its calls use."""
    calls = len(re.findall(r"\bShowUsage\s*\(\s*\)\s*;", text))
    defs = re.findall(r"private\s+static\s+void\s+(\w+)\s*\(\s*\)", text)
    if "ShowUsage" in defs:
        return text
    wrong = [d for d in defs if d != "ShowUsage"]
    if calls == 0 or len(wrong) != 1:
        raise ValueError("Program: %d calls of ShowUsage(), definitions %r" % (calls, defs))
    text, n = re.subn(r"(private\s+static\s+void\s+)%s(\s*\()" % wrong[0],
                      r"\1ShowUsage\2", text)
    repairs.append("Program.cs: the usage method printed as %s() renamed ShowUsage(), "
                   "the name its %d calls use" % (wrong[0], calls))
    return text


def extract(seed_text):
    """Returns ({file name: text}, [repairs made])."""
    lines = seed_text.splitlines()
    found = {}
    for block in blocks(lines):
        code = "\n".join(block)
        if not re.search(r"\bnamespace\s+UnChat\b", code):
            continue
        for name, decl in FILES:
            if decl.search(code):
                if name in found:
                    raise ValueError("%s printed twice" % name)
                found[name] = block
                break
        else:
            raise ValueError("a block of namespace UnChat declares nothing known:\n" +
                             code[:400])
    missing = [name for name, _ in FILES if name not in found]
    if missing:
        raise ValueError("not found in the text: %s (found %s)" % (missing, sorted(found)))
    files, repairs, empty = {}, [], 0
    for name, block in found.items():
        kept = [line for line in block if line.strip()]
        empty += len(block) - len(kept)
        files[name] = "\n".join(kept) + "\n"
    repairs.insert(0, "%d empty lines between lines of code dropped" % empty)
    files["Program.cs"] = rename_usage(files["Program.cs"], repairs)
    return files, repairs


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: seed_extract.py SEED_TXT OUT_DIR\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    try:
        files, repairs = extract(text)
    except ValueError as e:
        sys.stderr.write("seed_extract: %s\n" % e)
        return 1
    os.makedirs(argv[2], exist_ok=True)
    for name, body in sorted(files.items()):
        with open(os.path.join(argv[2], name), "w", encoding="utf-8") as f:
            f.write(body)
        print("seed_extract: wrote %s (%d lines)" % (name, body.count("\n")))
    for r in repairs:
        print("seed_extract: repaired: " + r)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
