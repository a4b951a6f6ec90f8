"""A domain enters only through its suite: no module outside a domain package imports it or
names its tasks; the registry alone lists the built-in suites (by module name, imported there).

The domain packages (`ftbench/suites/<name>/`) sit above the framework: they may use any of it,
and nothing in it may use them. `KNOWN` lists, per domain, the framework modules that still
name it and why; each entry is work left, and the test fails when a module joins the list or
leaves it unnoticed (none is left: GLUE's matrix became a study of its suite).
"""

from __future__ import annotations

import re

import pytest
from test_layers import PACKAGE, REPO, module_name, raw_imports

SUITES = PACKAGE / "suites"
DOMAINS = sorted(p.name for p in SUITES.iterdir() if (p / "__init__.py").is_file())
# what names a domain: its package and its lm-eval task names
NAMES = {"bmw": r"\bbmw", "glue": r"glue_small|suites\.glue\b|suites/glue\b",
         "general": r"general_small|suites\.general\b|suites/general\b",
         # its group `chat` is a word the framework uses generically: its task names and package
         "chat": r"\bchat_(?:answer|perplexity)\b|suites\.chat\b|suites/chat\b|tasks/chat\b"}
REGISTRY = "ftbench.suites.registry"
KNOWN: dict[str, set[str]] = {
    "bmw": set(),
    "glue": set(),
    "general": set(),
    "chat": set(),
}


def _framework_modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(SUITES).parts if SUITES in path.parents else ()
        if rel and rel[0] in DOMAINS and len(rel) > 1:
            continue  # a domain package's own module
        yield module_name(path, REPO), path


def test_the_domains_are_the_suites_subpackages():
    assert sorted(NAMES) == DOMAINS and set(KNOWN) == set(NAMES)


@pytest.mark.parametrize("domain", sorted(NAMES))
def test_no_framework_module_imports_a_domain(domain):
    package = f"ftbench.suites.{domain}"
    offenders = sorted(f"{name} imports {m}" for name, path in _framework_modules()
                       for m in raw_imports(path, name)
                       if (m == package or m.startswith(package + "."))
                       and name not in KNOWN[domain])
    assert not offenders, "framework modules importing a domain package:\n" + "\n".join(offenders)


@pytest.mark.parametrize("domain", sorted(NAMES))
def test_only_the_registry_and_known_modules_name_a_domain(domain):
    pattern = re.compile(NAMES[domain], re.IGNORECASE)
    naming = {name for name, path in _framework_modules()
              if pattern.search(path.read_text(encoding="utf-8"))} - {REGISTRY}
    assert naming - KNOWN[domain] == set(), f"modules outside {domain} that name it"
    assert KNOWN[domain] - naming == set(), f"{domain}: no longer named there; drop from KNOWN"


def test_the_registry_lists_every_domain_by_module_name():
    from ftbench.suites.registry import BUILTIN, BUILTIN_MODULES

    assert {m.split(".")[2] for m in BUILTIN_MODULES.values()} == set(DOMAINS)
    assert all(BUILTIN[name].name == name for name in BUILTIN_MODULES)


def test_the_checker_sees_a_name_and_an_import(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text("def f():\n    from ftbench.suites.bmw.schema import ARTICLE_TYPES\n"
                      "    return 'BMW_type'\n")
    assert "ftbench.suites.bmw.schema" in raw_imports(sample, "ftbench.report.x")
    assert re.search(NAMES["bmw"], sample.read_text(), re.IGNORECASE)
