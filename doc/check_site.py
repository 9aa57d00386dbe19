# SPDX-License-Identifier: BSD-3-Clause
"""Check the built documentation site.

Build the site first (``python -m sphinx -W --keep-going -b html doc
doc/_build/html``), then run::

    python doc/check_site.py [BUILD_DIR] [--no-browser] [--screenshots DIR]

``BUILD_DIR`` defaults to ``doc/_build/html``. The checks:

1. ``index.html``, the user guide, Theorem 1, API reference, benchmarks and gallery
   pages exist,
   and so does one API page for every public name: ``sklearn_freenets.__all__`` and
   the functions and classes in the ``__all__`` of ``theory``, ``plotting``,
   ``datasets``, ``evolve`` and ``nn`` (their constants, such as ``evolve.RULES``,
   and type aliases, such as ``evolve.Rule``, have no page of their own).
2. Every internal link of every page (``href`` and ``src``) points to a file that
   exists, and its ``#fragment`` to an ``id`` in that file.
3. No page's text contains "Traceback" or "WARNING" (a failed example or a
   docutils message that ended up in the output).
4. Headless Chromium opens the index, an API page, the gallery, one example and
   the benchmarks page:
   the page title and main heading are there, the theme's scripts ran (they set
   ``data-theme`` on ``<html>``), the header is laid out, every image loaded (the
   gallery's thumbnails, the example's figures, the benchmark plots), the example
   and the benchmarks page show their figures, and the browser console shows no
   error. Chromium is looked up as ``$CHROMIUM``, else
   ``chromium``, ``chromium-browser`` or ``google-chrome`` on the ``PATH``; without
   it the script fails, unless ``--no-browser`` skips this check (and says so).
   ``--screenshots DIR`` also saves a PNG of each of these pages.

It prints every problem found and exits with status 1 if there was any.
"""

from __future__ import annotations

import argparse
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
PAGES = [
    "index.html",
    "user_guide.html",
    "theory.html",
    "api.html",
    "benchmarks.html",
    "auto_examples/index.html",
]
# The pages opened in Chromium, with the number of figures (images under
# ``_images/``: the gallery's executed figures, the benchmarks' plots) each must show.
BROWSER_PAGES = {
    "index.html": 0,
    "generated/sklearn_freenets.FreeNetClassifier.html": 0,
    "auto_examples/index.html": 0,
    "auto_examples/plot_theorem1.html": 1,
    "benchmarks.html": 10,
}
FORBIDDEN = ("Traceback", "WARNING")


def public_names() -> list[str]:
    """Return the dotted name of every public object of the package."""
    import sklearn_freenets
    from sklearn_freenets import datasets, evolve, nn, plotting, theory

    names = [
        f"sklearn_freenets.{name}"
        for name in sklearn_freenets.__all__
        if not name.startswith("__")
    ]
    for module in (theory, plotting, datasets, evolve, nn):
        names += [
            f"{module.__name__}.{name}"
            for name in module.__all__
            if inspect.isfunction(obj := getattr(module, name)) or inspect.isclass(obj)
        ]
    return names


class _Page(HTMLParser):
    """Collect a page's link targets, element ids and visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self._skip = 0  # depth inside <script> / <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for key, value in attrs:
            if value is None:
                continue
            if key in ("id", "name") and (key == "id" or tag == "a"):
                self.ids.add(value)
            elif key in ("href", "src"):
                self.links.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def _html_pages(build: Path) -> list[Path]:
    """The site's pages; ``_static`` holds the theme's files (some are templates)."""
    skip = {"_static", "_sources", "_downloads", "_images"}
    return [
        path
        for path in sorted(build.rglob("*.html"))
        if not skip & set(path.relative_to(build).parts)
    ]


def check_static(build: Path) -> list[str]:
    """Run checks 1-3 on the pages under ``build``; return the problems."""
    problems = []
    required = PAGES + [f"generated/{name}.html" for name in public_names()]
    problems += [
        f"missing page: {page}" for page in required if not (build / page).is_file()
    ]

    pages = {path: _parse(path) for path in _html_pages(build)}
    for path, page in pages.items():
        rel = path.relative_to(build)
        text = " ".join(page.text)
        for word in FORBIDDEN:
            if word in text:
                at = text.index(word)
                context = " ".join(text[max(0, at - 60) : at + 60].split())
                problems.append(f"{rel}: contains {word!r}: ...{context}...")
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "data:")):
                continue  # external
            target = (
                (path.parent / unquote(parts.path)).resolve() if parts.path else path
            )
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: broken link {link!r}")
                continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if fragment not in ids:
                    problems.append(f"{rel}: link {link!r}: no id {fragment!r} there")
    return problems


_HARNESS = """<!DOCTYPE html>
<html><body><pre id="result">the page did not load</pre>
<iframe id="page" width="1280" height="900" src="{url}"></iframe>
<script>
document.getElementById("page").addEventListener("load", () => {{
  const r = {{}};
  try {{
    const d = document.getElementById("page").contentDocument;
    const header = d.querySelector(".bd-header");
    const h1 = d.querySelector("main h1");
    r.title = d.title;
    r.h1 = h1 ? Array.from(h1.childNodes).filter(n => n.nodeType === 3)
      .map(n => n.textContent).join("").trim() : "";
    r.theme = d.documentElement.dataset.theme || "";
    r.header_height = header ? header.getBoundingClientRect().height : 0;
    r.images = Array.from(d.images).map(i => [i.getAttribute("src"), i.naturalWidth]);
  }} catch (e) {{
    r.error = String(e);
  }}
  document.getElementById("result").textContent = JSON.stringify(r);
}});
</script></body></html>
"""


def _chromium() -> str | None:
    candidates = [os.environ.get("CHROMIUM", "")]
    candidates += ["chromium", "chromium-browser", "google-chrome"]
    for name in candidates:
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def check_browser(build: Path, chromium: str, screenshots: Path | None) -> list[str]:
    """Run check 4 with ``chromium``; return the problems."""
    problems = []
    flags = [
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--allow-file-access-from-files",  # lets the harness read the page's DOM
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        flags.append(f"--user-data-dir={Path(tmp) / 'profile'}")
        for rel, n_figures in BROWSER_PAGES.items():
            page = build / rel
            if not page.is_file():
                problems.append(f"browser: {rel} does not exist")
                continue
            harness = Path(tmp) / "harness.html"
            harness.write_text(_HARNESS.format(url=page.resolve().as_uri()))
            try:
                run = subprocess.run(
                    [chromium, *flags, "--dump-dom", harness.as_uri()],
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
            except subprocess.TimeoutExpired:
                problems.append(f"browser: {rel}: Chromium took over 120 s")
                continue
            found = re.search(r'<pre id="result">(.*?)</pre>', run.stdout, re.S)
            raw = html.unescape(found.group(1)) if found else ""
            try:
                result = json.loads(raw)
            except ValueError:
                problems.append(
                    f"browser: {rel}: no result ({raw or run.stderr[-500:]!r})"
                )
                continue
            problems += [f"browser: {rel}: {p}" for p in _judge(result, n_figures)]
            errors = [
                line
                for line in run.stderr.splitlines()
                if ":CONSOLE" in line
                and re.search(r"error|uncaught|failed", line, re.I)
            ]
            problems += [f"browser: {rel}: console: {line}" for line in errors]
            images = result.get("images", [])
            loaded = sum(1 for _, width in images if width)
            heading = result.get("h1", "")
            print(f"browser: {rel}: {heading!r}, {loaded}/{len(images)} images loaded")
            if screenshots is not None:
                screenshots.mkdir(parents=True, exist_ok=True)
                png = screenshots / (
                    rel.replace("/", "_").removesuffix(".html") + ".png"
                )
                subprocess.run(
                    [chromium, *flags, "--window-size=1280,1600", f"--screenshot={png}"]
                    + [page.resolve().as_uri()],
                    capture_output=True,
                    timeout=120,
                )
                if not png.is_file():
                    problems.append(f"browser: {rel}: no screenshot written")
    return problems


def _judge(result: dict, n_figures: int = 0) -> list[str]:
    problems = []
    if "error" in result:
        return [f"could not read the page: {result['error']}"]
    if not result.get("title"):
        problems.append("no title")
    if not result.get("h1"):
        problems.append("no main heading")
    if result.get("theme") not in ("light", "dark"):
        problems.append(
            f"the theme's scripts did not run (data-theme={result.get('theme')!r})"
        )
    if not result.get("header_height"):
        problems.append("the page header is not laid out")
    for src, width in result.get("images", []):
        if not width:
            problems.append(f"image did not load: {src}")
    figures = [src for src, _ in result.get("images", []) if "_images/" in src]
    if len(figures) < n_figures:
        problems.append(
            f"{len(figures)} figures, expected at least {n_figures} (were the "
            "examples run? see doc/conf.py)"
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "build", nargs="?", default=ROOT / "doc" / "_build" / "html", type=Path
    )
    parser.add_argument("--no-browser", action="store_true", help="skip check 4")
    parser.add_argument("--screenshots", type=Path, help="save page screenshots here")
    args = parser.parse_args(argv)

    build = args.build
    if not (build / "index.html").is_file():
        print(f"no built site in {build}: build the docs first", file=sys.stderr)
        return 1
    problems = check_static(build)
    n_pages = len(_html_pages(build))
    print(f"static checks: {n_pages} pages, {len(problems)} problem(s)")
    if args.no_browser:
        print("SKIPPED: the headless Chromium check (--no-browser)")
    else:
        chromium = _chromium()
        if chromium is None:
            problems.append(
                "browser: no Chromium found (set $CHROMIUM, install chromium, "
                "or pass --no-browser to skip this check)"
            )
        else:
            problems += check_browser(build, chromium, args.screenshots)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s)" if problems else "site OK")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
