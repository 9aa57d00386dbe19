# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration of the sklearn-freenets documentation.

Build it from the repository root (after ``pip install -e ".[docs]"``) with::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

then check the pages with ``python doc/check_site.py doc/_build/html``. The build
runs the example gallery (a few minutes); ``-D plot_gallery=0`` skips running it.
"""

import os
import re
from pathlib import Path

from sklearn_freenets import __version__

project = "sklearn-freenets"
author = "sklearn-freenets developers"
copyright = "sklearn-freenets developers, BSD-3-Clause"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",  # the benchmark page includes the scripts' Markdown results
]
myst_enable_extensions = ["colon_fence"]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"  # `x` in reST means ``x``, as in the docstrings' prose
toc_object_entries_show_parents = "hide"  # "fit()", not "FreeNetClassifier.fit()"

# -- API reference ----------------------------------------------------------------
# autosummary writes one page per public name into doc/generated/ (git-ignored).
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections say the types
# numpydoc lists the methods itself through the class template's autosummary table;
# its own members table would document every method twice.
numpydoc_show_class_members = False
# Numpydoc's docstring validation: every check but four that the house style does
# not ask for: ES01 (an extended summary), SA01 (a See Also section), EX01 (an
# Examples section) and RT02 (numpydoc wants only a type on a Returns line, while
# scikit-learn's style names the returned value: ``self : object``). scikit-learn's
# inherited methods (get_params, set_*_request, ...) are scikit-learn's to check.
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "RT02"}
numpydoc_validation_exclude = {
    r"\.get_params$",
    r"\.set_params$",
    r"\.get_metadata_routing$",
    r"\.set_\w+_request$",
    r"\.score$",
}

# Report every cross-reference that does not resolve to an object documented here.
# Targets outside this package (numpy, scikit-learn, torch, skorch, matplotlib,
# pandas, ...) cannot resolve: intersphinx would need their inventories from the
# network, which the machines building these pages do not have. Private names of
# this package (``sklearn_freenets._evolve.ActivityStats``, ...) are mentioned in
# docstrings but are not part of the public API, so they have no page either.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!sklearn_freenets\b).*"),
    (r"py:.*", r"sklearn_freenets\._.*"),
]

# The estimators' pages list the methods they inherit from scikit-learn (score,
# get_params, set_fit_request, ...). Those docstrings link to labels and glossary
# terms of scikit-learn's own site (:ref:`metadata_routing`, :term:`meta-estimator`),
# which do not exist here; keep their text and drop the link, for scikit-learn's
# docstrings only, so that a broken :ref: or :term: of ours still fails the build.
_ROLE = re.compile(r":(?:ref|term):`([^`<]*?)\s*(?:<([^`>]*)>)?`")


def _unlink_scikit_learn_roles(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if module == "sklearn" or module.startswith("sklearn."):
        lines[:] = [_ROLE.sub(lambda m: m[1] or m[2], line) for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_scikit_learn_roles)


# -- Example gallery ----------------------------------------------------------------
# The examples run at build time (a few minutes on 2 cores): their figures and
# printed output are part of the pages. ``-D plot_gallery=0`` on the command line
# renders them without running them, for a quick build. The Fashion-MNIST example
# reads the original data files from $SKLEARN_FREENETS_DATA or ../shared/data beside
# the repository; where they are missing it is rendered without being run, and the
# build says so.
_ROOT = Path(__file__).resolve().parents[1]
_FASHION_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
_data_home = Path(
    os.environ.get("SKLEARN_FREENETS_DATA", _ROOT.parent / "shared" / "data")
)
_missing = [
    f for f in _FASHION_FILES if not (_data_home / "fashion-mnist" / f).is_file()
]
_pattern = r"/plot_"
if _missing:
    _pattern = r"/plot_(?!evolution_fashion_mnist)"
    print(
        "NOTE: examples/plot_evolution_fashion_mnist.py is rendered but not run: "
        f"{_data_home / 'fashion-mnist'} lacks {', '.join(_missing)} (set "
        "SKLEARN_FREENETS_DATA to a folder holding fashion-mnist/ with them)."
    )
else:
    os.environ.setdefault("SKLEARN_FREENETS_DATA", str(_data_home))
os.environ.setdefault("MPLBACKEND", "Agg")
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",  # generated, git-ignored
    "filename_pattern": _pattern,  # the examples to run
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "remove_config_comments": True,
    # no sg_execution_times page: it loads scripts from a CDN
    "write_computation_times": False,
}

# -- HTML -----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-freenets {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": False,
    # the benchmarks page gets the full width for its wide tables
    "secondary_sidebar_items": {"**": ["page-toc"], "benchmarks": []},
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
# no primary sidebar on the top-level pages (it would only say "Section Navigation")
_TOP_PAGES = (
    "index",
    "theory",
    "user_guide",
    "parameters",
    "results",
    "speed",
    "paper",
)
html_sidebars = {page: [] for page in (*_TOP_PAGES, "benchmarks")}
html_static_path = ["_static"]
html_css_files = ["freenets.css"]
html_show_sourcelink = False
