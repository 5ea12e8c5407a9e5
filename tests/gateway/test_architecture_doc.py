"""docs/architecture.md must not rot: every path it names exists; every name
of ours it shows in backticks (gw_*, wt_*, GW_*, WT_*) is in the sources of
gateway/ or wintalk/, and every libwebsockets name (lws_*, LWS_*) in
libwebsockets' headers; each step of the walk, written `folder/file.c:
name, name`, names what that very file holds; the CMake libraries it names
are defined; and every source file of gateway/ and wintalk/ is placed on
the page, so that a new module cannot be left out of the house.

A new file the page only proposes (`gw_serve_X.c`) ends its name in _X."""
import glob
import os
import re
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOC = os.path.join(ROOT, "docs", "architecture.md")
LAYERS = ("proto", "store", "hub", "server")
# Top folders of the repository a path on the page may start with.
TOP = ("gateway", "wintalk", "cmake", "tests", "docs", "web", "scripts", "bench",
       "native-client", "docker")


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def sources():
    """Every .c and .h of gateway/ and wintalk/, relative to the root."""
    found = []
    for top in ("gateway", "wintalk"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".c", ".h")):
                    found.append(os.path.relpath(os.path.join(dirpath, name), ROOT))
    return sorted(found)


def lws_headers():
    """libwebsockets' headers: where CMake found them (LWS_INCLUDE_DIR), or
    the usual places."""
    dirs = [d for d in (os.environ.get("LWS_INCLUDE_DIR"), "/usr/include", "/usr/local/include")
            if d]
    for d in dirs:
        top = os.path.join(d, "libwebsockets.h")
        if os.path.isfile(top):
            return [top] + sorted(glob.glob(os.path.join(d, "libwebsockets", "**", "*.h"),
                                            recursive=True))
    return []


def spans(text):
    """The page's code: fenced blocks and inline spans (which may run over a
    line end)."""
    out = []
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
    for m in fenced.finditer(text):
        out.append(m.group(1))
    rest = fenced.sub("", text)
    out += re.findall(r"`([^`]+)`", rest)
    return out


WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\*?")
OURS = re.compile(r"^(gw|wt|GW|WT)_")
LWS = re.compile(r"^(lws|LWS)_")
STEP = re.compile(r"^\s*((?:proto|store|hub|server)/gw_\w+\.[ch]|wintalk/wt_\w+\.[ch])\s*:\s*(.*)$",
                  re.S)


def placeholder(name):
    return re.search(r"_X(\.[ch])?$", name) is not None


class ArchitectureDoc(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.text = read(DOC)
        cls.spans = spans(cls.text)
        cls.files = sources()
        cls.code = {f: read(os.path.join(ROOT, f)) for f in cls.files}
        cls.all_code = "\n".join(cls.code.values())

    def in_code(self, name, code):
        return re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])",
                         code) is not None

    def test_code_spans_pair(self):
        # An odd backtick would shift every span after it out of the checks.
        rest = re.sub(r"^```[^\n]*\n.*?^```", "", self.text, flags=re.M | re.S)
        self.assertEqual(rest.count("`") % 2, 0, "docs/architecture.md: an unpaired backtick")

    def test_paths_exist(self):
        missing = []
        top = "|".join(re.escape(t) for t in TOP)
        for m in re.finditer(r"(?<![\w/.-])((?:%s)/[\w./-]*)" % top, self.text):
            path = m.group(1).rstrip(".")
            if "*" in path or placeholder(os.path.splitext(path)[0].rstrip("/")):
                continue
            if not os.path.exists(os.path.join(ROOT, path)):
                missing.append(path)
        # A folder of gateway/ named alone in code: `hub/gw_tcp.c`, `proto/`.
        for s in self.spans:
            for m in re.finditer(r"(?<![\w/.-])((?:%s)/[\w./-]*)" % "|".join(LAYERS), s):
                path = m.group(1).rstrip(".")
                if "*" in path or placeholder(os.path.splitext(path)[0]):
                    continue
                if not os.path.exists(os.path.join(ROOT, "gateway", path)):
                    missing.append("gateway/" + path)
        # Links to other pages, relative to docs/.
        for target in re.findall(r"\]\(([^)#\s]+)", self.text):
            if "://" not in target and \
                    not os.path.exists(os.path.join(ROOT, "docs", target)):
                missing.append(target)
        self.assertEqual(missing, [], "docs/architecture.md names paths that do not exist")

    def test_file_names_exist(self):
        names = {os.path.basename(f) for f in self.files}
        missing = sorted({n for n in re.findall(r"(?<![\w*])((?:gw|wt)_\w+\.[ch])(?!\w)", self.text)
                          if n not in names and not placeholder(n[:-2])})
        self.assertEqual(missing, [],
                         "docs/architecture.md names files that are not in gateway/ or wintalk/")

    def test_names_are_in_the_sources(self):
        missing = set()
        for s in self.spans:
            for w in WORD.findall(s):
                if w.endswith("*") or not OURS.match(w) or placeholder(w):
                    continue
                if not self.in_code(w, self.all_code):
                    missing.add(w)
        self.assertEqual(sorted(missing), [],
                         "docs/architecture.md names what is in no source of gateway/ or wintalk/")

    def test_libwebsockets_names(self):
        names = {w for s in self.spans for w in WORD.findall(s)
                 if LWS.match(w) and not w.endswith("*")}
        if not names:
            return
        headers = lws_headers()
        self.assertTrue(headers, "libwebsockets' headers not found (LWS_INCLUDE_DIR, /usr/include):"
                                 " the page names " + ", ".join(sorted(names)))
        text = "\n".join(read(h) for h in headers)
        self.assertEqual(sorted(w for w in names if not self.in_code(w, text)), [],
                         "docs/architecture.md names what libwebsockets' headers do not have")

    def test_walk_steps_name_what_the_file_holds(self):
        wrong, steps = [], 0
        for s in self.spans:
            m = STEP.match(s)
            if not m:
                continue
            steps += 1
            path = m.group(1)
            rel = path if path.startswith("wintalk/") else "gateway/" + path
            code = self.code.get(rel)
            if code is None:
                wrong.append("%s: no such file" % path)
                continue
            for w in WORD.findall(m.group(2)):
                if not self.in_code(w, code):
                    wrong.append("%s: %s is not in it" % (path, w))
        self.assertGreaterEqual(steps, 15, "the walk's steps (`folder/file.c: names`) are gone")
        self.assertEqual(wrong, [], "docs/architecture.md: a step of the walk names what its "
                                    "file does not hold")

    def test_cmake_targets(self):
        targets = set()
        for cm in glob.glob(os.path.join(ROOT, "gateway", "**", "CMakeLists.txt"), recursive=True) + \
                [os.path.join(ROOT, "wintalk", "CMakeLists.txt")]:
            targets |= set(re.findall(r"add_(?:library|executable)\(\s*([\w-]+)", read(cm)))
        named = set()
        for s in self.spans:
            named |= set(re.findall(r"(?<![\w/.-])(gw[a-z]+|wintalk_codec|wintalk-gateway)(?![\w.-])",
                                    s))
        self.assertTrue({"gwproto", "gwstore", "gwhub", "wintalk-gateway"} <= named, named)
        self.assertEqual(sorted(named - targets), [],
                         "docs/architecture.md names CMake targets that are not defined")

    def test_every_source_file_is_placed(self):
        unplaced = [f for f in self.files
                    if not self.in_code(os.path.basename(f), self.text)]
        self.assertEqual(unplaced, [], "source files docs/architecture.md does not mention: "
                                       "say where each belongs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
