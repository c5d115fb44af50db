"""The docs stay true to the repository: README.md and every ``docs/**/*.md``.

- every relative link and image (``[..](path)``, ``![..](path)``, ``[ref]: path``) outside code resolves to a
  file or folder inside the repository (``http(s)://``, ``mailto:`` and other schemes are not followed), and
  every ``#anchor`` (same page or another ``.md`` page) names a heading there (GitHub's slug rules);
- every ``make <target>`` in a code span or block names a rule of the Makefile;
- every ``--flag`` given to ``python -m egom2p.<module>`` (also under torchrun / the deepspeed launcher),
  ``egom2p <subcommand>``, ``egom2p-synth`` or ``python benchmarks/<script>.py`` in a code span or block
  appears in that program's ``--help`` (each program's ``--help`` runs once, in a subprocess);
- the README stays a front page (≤ 100 lines, the two set-up commands verbatim) and shows the three UI
  screenshots ``docs/images/ui-*.png``: those are made by the UI's browser tests, so their check is its
  own test with its own message.

Fast (no network, no Dagster run): the slowest part is the programs' ``--help`` (those importing torch take
a few seconds), run a few at a time.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = ("docs/data-engineer.md", "docs/ml-engineer.md", "docs/architecture.md")
SCREENSHOTS = ("docs/images/ui-asset-graph.png", "docs/images/ui-launchpad.png", "docs/images/ui-run.png")
SETUP_BLOCK = """```bash
make demo   # fresh machine → venv + ffmpeg + deps, synthesize the world, backfill the graph, print the summary
make test   # fresh machine → venv + ffmpeg + deps, run the whole test suite (CI runs this via .ci/run)
```"""
README_MAX_LINES = 100


def doc_files(root: Path = REPO) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").rglob("*.md"))]


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    kind: str        # link | anchor | make | flag | program
    target: str      # the link target (repo-relative path for a missing file), make target or flag
    detail: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.kind}] {self.detail}"


# ---------------------------------------------------------------------------------------------- markdown parsing
FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\[\]]*\])*)\]\(\s*(<[^>\n]*>|[^)\s]+)(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
REF_DEF = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*(<[^>\n]*>|\S+)", re.M)
ATX = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
HTML_ID = re.compile(r"<a\s[^>]*(?:name|id)\s*=\s*[\"']([^\"']+)[\"']", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass
class Parsed:
    prose: str                          # the text with code blocks blanked and code spans spaced out
    blocks: list[tuple[int, str]]       # (line, logical line) of fenced code blocks, `\` continuations joined
    spans: list[tuple[int, str]]        # (line, content) of inline code spans
    lines: list[str]                    # prose lines (code blocks blank): for headings


def parse(text: str) -> Parsed:
    lines, blocks, fence, pending, pending_line = [], [], None, "", 0
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)[0] * len(m.group(1))
            lines.append("")
            continue
        if fence is not None:
            if m and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
            else:
                if not pending:
                    pending_line = n
                if line.rstrip().endswith("\\"):
                    pending += line.rstrip()[:-1] + " "
                else:
                    blocks.append((pending_line, pending + line))
                    pending = ""
            lines.append("")
            continue
        lines.append(line)
    prose = "\n".join(lines)
    spans = []

    def blank(m: re.Match) -> str:
        spans.append((prose.count("\n", 0, m.start()) + 1, m.group(2).replace("\n", " ")))
        return re.sub(r"[^\n]", " ", m.group(0))
    return Parsed(CODE_SPAN.sub(blank, prose), blocks, spans, lines)


def slug(heading: str) -> str:
    """GitHub's heading anchor: the rendered text, lower case, punctuation but ``-`` and ``_`` dropped,
    spaces → ``-``."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)      # links and images → their text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()              # html tags
    text = re.sub(r"[^\w\- ]", "", text)                              # punctuation (backticks, *, ., ...)
    return text.replace(" ", "-")


@lru_cache(maxsize=None)
def anchors(path: Path) -> frozenset[str]:
    """The ``#anchor``s of a markdown page: its headings' slugs (duplicates get -1, -2, …) and html ids."""
    p = parse(path.read_text(encoding="utf-8"))
    found, seen = set(), {}
    heads = []
    for i, line in enumerate(p.lines):
        m = ATX.match(line)
        if m:
            heads.append(m.group(2))
        elif (i + 1 < len(p.lines) and re.fullmatch(r"\s{0,3}(=+|-+)\s*", p.lines[i + 1])
              and line.strip() and not re.match(r"\s*([-*+|>#]|\d+\.)", line)):
            heads.append(line.strip())                                   # setext heading
    for h in heads:
        s = slug(h)
        n = seen.get(s, 0)
        seen[s] = n + 1
        found.add(s if n == 0 else f"{s}-{n}")
    found |= set(HTML_ID.findall(p.prose))
    return frozenset(found)


# ---------------------------------------------------------------------------------------------- links
def check_links(md: Path, root: Path = REPO) -> list[Problem]:
    p = parse(md.read_text(encoding="utf-8"))
    rel = md.relative_to(root).as_posix() if md.is_relative_to(root) else str(md)
    found = [(m.start(), m.group(3)) for m in LINK.finditer(p.prose)]
    found += [(m.start(), m.group(1)) for m in REF_DEF.finditer(p.prose)]
    problems = []
    for pos, raw in sorted(found):
        line = p.prose.count("\n", 0, pos) + 1
        target = unquote(raw[1:-1] if raw.startswith("<") else raw)
        if SCHEME.match(target):            # http(s)://, mailto:, ... : not followed
            continue
        path, _, anchor = target.partition("#")
        path = path.split("?")[0]
        if not path:                        # #anchor on this page
            if anchor not in anchors(md):
                problems.append(Problem(rel, line, "anchor", target, f"#{anchor} names no heading of {rel}"))
            continue
        dest = Path(os.path.normpath(root / path.lstrip("/") if path.startswith("/") else md.parent / path))
        if not dest.is_relative_to(root):
            problems.append(Problem(rel, line, "link", target, f"{target} leaves the repository"))
            continue
        dest_rel = dest.relative_to(root).as_posix()
        if not dest.exists():
            problems.append(Problem(rel, line, "link", dest_rel, f"{target} → {dest_rel} does not exist"))
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            problems.append(Problem(rel, line, "anchor", target, f"#{anchor} names no heading of {dest_rel}"))
    return problems


# ---------------------------------------------------------------------------------------------- commands
SEPARATORS = re.compile(r"\s(?:&&|\|\||;|\|)\s")
COMMENT = re.compile(r"(?:^|\s)#.*$")
FLAG = re.compile(r"(?<![\w-])--[A-Za-z][\w-]*")
PREFIX = r"(?:^|[\s(])(?:\S*/)?"
PROGRAMS = [   # (regex, kind): the program's name is group 1; its flags are what follows the match
    (re.compile(PREFIX + r"python3?\s+-m\s+(egom2p(?:\.\w+)*)"), "module"),
    (re.compile(PREFIX + r"torchrun\b.*?\s-m\s+(egom2p(?:\.\w+)*)"), "module"),
    (re.compile(PREFIX + r"deepspeed\b.*?\s--module\s+(egom2p(?:\.\w+)*)"), "module"),
    (re.compile(PREFIX + r"egom2p\s+([\w-]+)"), "subcommand"),
    (re.compile(PREFIX + r"(egom2p-[\w-]+)"), "console"),   # another console script of pyproject.toml
    (re.compile(PREFIX + r"python3?\s+(benchmarks/[\w./-]+\.py)"), "script"),
]
MAKE = re.compile(r"(?:^|\s)make\s+(.*)$")


def makefile_targets(makefile: Path = REPO / "Makefile") -> set[str]:
    targets = set()
    for line in makefile.read_text().splitlines():
        m = re.match(r"^\.PHONY\s*:(.*)$", line)
        if m:
            targets |= set(m.group(1).split())
            continue
        m = re.match(r"^([A-Za-z0-9_][\w.\-]*(?:[ \t]+[A-Za-z0-9_][\w.\-]*)*)[ \t]*::?(?!=)", line)
        if m:
            targets |= set(m.group(1).split())
    return targets


@lru_cache(maxsize=None)
def console_scripts() -> dict[str, str]:
    import tomllib
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("scripts", {})


def subcommands() -> dict[str, str]:
    from egom2p.cli import COMMANDS      # egom2p <command> → module
    return dict(COMMANDS)


@dataclass(frozen=True)
class Use:
    file: str
    line: int
    program: str     # "module:egom2p.synth", "script:benchmarks/x.py", or "unknown:<why>"
    flags: tuple[str, ...]


def commands(md: Path, root: Path = REPO) -> tuple[list[tuple[str, int, str]], list[Use]]:
    """``make`` targets and program uses in ``md``'s code spans and blocks."""
    p = parse(md.read_text(encoding="utf-8"))
    rel = md.relative_to(root).as_posix() if md.is_relative_to(root) else str(md)
    makes, uses = [], []
    for line, code in [*p.blocks, *p.spans]:
        for segment in SEPARATORS.split(COMMENT.sub("", code)):
            m = MAKE.search(segment)
            if m:
                for word in m.group(1).split():
                    if word.startswith("-") or "=" in word:
                        continue
                    if not re.fullmatch(r"[A-Za-z0-9][\w.\-]*", word):
                        break
                    makes.append((rel, line, word))
            hits = [(m, kind) for rx, kind in PROGRAMS for m in [rx.search(segment)] if m]
            if not hits:
                continue
            m, kind = min(hits, key=lambda h: h[0].start())
            name = m.group(1)
            flags = tuple(dict.fromkeys(FLAG.findall(segment[m.end():])))
            if kind == "subcommand":
                commands_ = subcommands()
                name = (f"module:{commands_[name]}" if name in commands_
                        else f"unknown:egom2p has no subcommand {name!r}")
            elif kind == "console":
                entry = console_scripts().get(name)
                name = f"module:{entry.partition(':')[0]}" if entry else f"unknown:no console script {name!r}"
            elif kind == "module":
                name = f"module:{name}"
            else:
                name = f"script:{name}"
            uses.append(Use(rel, line, name.removesuffix(".__main__"), flags))
    return makes, uses


@lru_cache(maxsize=None)
def help_text(program: str) -> tuple[bool, str]:
    """(ok, output) of ``<program> --help`` with this interpreter (cached per program)."""
    kind, _, name = program.partition(":")
    if kind == "script":
        argv, cwd = [sys.executable, str(REPO / name), "--help"], REPO
    else:       # -m from a neutral folder: the repo root must not shadow HF `tokenizers` on sys.path
        argv, cwd = [sys.executable, "-m", name, "--help"], Path(tempfile.gettempdir())
    try:
        out = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        text = out.stdout + out.stderr
        return out.returncode == 0 and "usage:" in text.lower(), text
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, str(e)


def run_helps(programs) -> dict[str, tuple[bool, str]]:
    """``--help`` of every program, a few at a time (each runs once per session: ``help_text`` caches)."""
    programs = sorted(p for p in programs if not p.startswith("unknown:"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(zip(programs, pool.map(help_text, programs)))


def check_commands(md: Path, root: Path = REPO, targets: set[str] | None = None) -> list[Problem]:
    targets = makefile_targets() if targets is None else targets
    makes, uses = commands(md, root)
    problems = [Problem(f, n, "make", t, f"`make {t}`: no such target in the Makefile")
                for f, n, t in makes if t not in targets]
    helps = run_helps({u.program for u in uses})
    for u in uses:
        if u.program.startswith("unknown:"):
            problems.append(Problem(u.file, u.line, "program", u.program, u.program.partition(":")[2]))
            continue
        ok, text = helps[u.program]
        name = u.program.partition(":")[2]
        if not ok:
            problems.append(Problem(u.file, u.line, "program", name,
                                    f"`{name} --help` fails: {(text.strip().splitlines() or [''])[-1]}"))
            continue
        known = set(FLAG.findall(text)) | {"--help"}
        problems += [Problem(u.file, u.line, "flag", f, f"{name} has no flag {f} (not in its --help)")
                     for f in u.flags if f not in known]
    return problems


def check(files: list[Path], root: Path = REPO) -> list[Problem]:
    targets = makefile_targets()
    run_helps({u.program for f in files for u in commands(f, root)[1]})      # all programs at once
    return [pr for f in files for pr in (*check_links(f, root), *check_commands(f, root, targets))]


# ---------------------------------------------------------------------------------------------- the tests
@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    return check(doc_files())


def _fmt(problems: list[Problem]) -> str:
    return "\n".join(map(str, problems))


def test_front_page_and_reader_pages():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    n = len(readme.splitlines())
    assert n <= README_MAX_LINES, f"README.md has {n} lines: keep it a front page (≤ {README_MAX_LINES}), " \
                                  "move detail into docs/"
    assert "## Set-up: two commands" in readme and SETUP_BLOCK in readme, \
        "README.md must keep the set-up section with `make demo` / `make test` verbatim (CI and people rely on it)"
    assert "## Architecture" in readme and "docs/architecture.md" in readme, \
        "README.md keeps a short Architecture section linking docs/architecture.md"
    for page in PAGES:
        assert (REPO / page).is_file(), f"{page} is missing"
        assert f"({page})" in readme, f"README.md does not link {page}"


def test_relative_links_and_anchors_resolve(problems):
    bad = [p for p in problems if p.kind in ("link", "anchor") and p.target not in SCREENSHOTS]
    assert not bad, "broken links in the docs:\n" + _fmt(bad)


def test_ui_screenshots_exist(problems):
    """The README's three UI screenshots: produced by the UI's browser tests (tests/ui/), not by hand."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    unlinked = [s for s in SCREENSHOTS if not re.search(r"!\[[^\]]*\]\(" + re.escape(s) + r"\)", readme)]
    assert not unlinked, f"README.md must show the UI screenshots as images: {unlinked}"
    missing = [p for p in problems if p.kind == "link" and p.target in SCREENSHOTS]
    assert not missing, ("UI screenshots referenced by the docs do not exist (they are made by the UI browser "
                         "tests under tests/ui/; run those to produce them):\n" + _fmt(missing))


def test_make_targets_exist(problems):
    bad = [p for p in problems if p.kind == "make"]
    assert not bad, f"make targets in the docs that the Makefile lacks ({sorted(makefile_targets())}):\n" + _fmt(bad)


def test_cli_flags_exist(problems):
    bad = [p for p in problems if p.kind in ("flag", "program")]
    assert not bad, "commands in the docs that no longer exist:\n" + _fmt(bad)


def test_console_scripts_used_by_the_docs_are_declared():
    scripts = console_scripts()
    assert scripts.get("egom2p") == "egom2p.cli:main" and "egom2p-synth" in scripts


def test_the_checker_reports_each_problem(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "there.md").write_text("# There\n\n## A section\n")
    md = tmp_path / "docs" / "page.md"
    md.write_text("""# Page

## Section `one`: a, b

[ok](../there.md#a-section) [ok too](#section-one-a-b) [web](https://example.com/x) [mail](mailto:a@b.c)
[broken](../nowhere.md) ![image](images/ui-missing.png) [bad anchor](../there.md#no-such) [bad](#nope)
[outside](../../elsewhere.md)

```bash
make test
make no-such-target
python -m egom2p.synth --layout egogen --no-such-flag   # a comment --not-a-flag
egom2p frobnicate --x
egom2p-synth --layout egogen --out x --bogus-synth && egom2p-nope --y
python -m egom2p.no_such_module --z
```
`make demo` `python benchmarks/bench_gaze_bound.py --seed 1 --redraws 2 --bogus`
""")
    found = check_links(md, tmp_path) + check_commands(md, tmp_path)
    got = {(p.kind, p.target) for p in found}
    assert got == {("link", "nowhere.md"), ("link", "docs/images/ui-missing.png"), ("anchor", "../there.md#no-such"),
                   ("anchor", "#nope"), ("link", "../../elsewhere.md"), ("make", "no-such-target"),
                   ("flag", "--no-such-flag"), ("program", "unknown:egom2p has no subcommand 'frobnicate'"),
                   ("flag", "--bogus"), ("flag", "--bogus-synth"), ("program", "egom2p.no_such_module"),
                   ("program", "unknown:no console script 'egom2p-nope'")}, _fmt(found)


def test_slug_follows_github():
    assert slug("Evaluation and `egom2p predict`") == "evaluation-and-egom2p-predict"
    assert slug("Set-up: two commands") == "set-up-two-commands"
    assert slug("Units, fingerprints, resume") == "units-fingerprints-resume"
    assert slug("Data layout (`data/`)") == "data-layout-data"
    assert slug("Scaling out: [Ray](https://ray.io)") == "scaling-out-ray"
