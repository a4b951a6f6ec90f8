"""The documentation against the code: README.md, docs/*.md and tasks/*/README.md.

- every `ftbench` command line of a bash block parses with the real parser, its `key=value`
  overrides apply to the shipped config it names, and every `lm_eval` line parses with lm-eval's
  own command line: a renamed or removed command, flag or config key fails here;
- every `--flag` written after `ftbench COMMAND` elsewhere (text blocks, inline code) exists;
- the synopsis in docs/cli.md lists exactly the parser's commands and flags;
- `make` targets, repository paths in commands, and relative links with their anchors exist;
- blocks marked `<!-- runs-offline -->` run, line by line, and exit 0; YAML blocks marked
  `<!-- study-config -->` load as study configs;
- the README stays a front door (at most 300 lines), and no page names an internal issue number.

Markers are HTML comments alone on the line before a fence; `<!-- no-check -->` skips a block.
See docs/testing.md. The README's `ftbench eval` / `lm_eval` pair is run for real, with its
numbers compared, by tests/eval/test_orchestrator.py::test_study_entry_equals_direct_lm_eval_run.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docs_blocks import REPO, Command, all_blocks, blocks, commands, doc_files

from ftbench.cli.main import OVERRIDE_COMMANDS, build_parser

SHELL = ("bash", "sh", "shell")
BLOCKS = [b for b in all_blocks() if b.marker != "no-check"]
SHELL_COMMANDS = [c for b in BLOCKS if b.lang in SHELL for c in commands(b)]
REPO_PATH = re.compile(r"^(configs|scripts|benchmarks|ftbench|tasks|tests|docs)/[\w./-]+$")
FLAG = re.compile(r"(?<![\w-])--(\[no-\])?([a-z][a-z0-9-]*)")
RUN_TIMEOUT_S = 60


def _ids(cmds: list[Command]) -> list[str]:
    return [f"{c.where} {' '.join(c.argv[:3])}" for c in cmds]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _commands(parser=None, path=()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every command path the parser accepts, the top level () included, groups (`data`) not."""
    parser = parser or build_parser()
    subs = _subcommands(parser)
    found = {} if subs and path else {path: parser}
    for name, sub in subs.items():
        found.update(_commands(sub, (*path, name)))
    return found


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {s for a in parser._actions for s in a.option_strings if s.startswith("--")} - {"--help"}


def _flags(text: str) -> set[str]:
    found = set()
    for m in FLAG.finditer(text):
        found |= {f"--{m.group(2)}", f"--no-{m.group(2)}"} if m.group(1) else {f"--{m.group(2)}"}
    return found


def _command_path(words: list[str]) -> tuple[tuple[str, ...], str | None]:
    """The subcommand path at the start of `words` (after `ftbench`), and the first word that
    looks like a command name but is none (a lowercase word where a command belongs)."""
    parser, path = build_parser(), ()
    for w in words:
        subs = _subcommands(parser)
        if not subs:
            break
        if w in subs:
            parser, path = subs[w], (*path, w)
            continue
        if re.fullmatch(r"[a-z][a-z-]*", w):
            return path, w
        break
    return path, None


def _parse_ftbench(argv: list[str]) -> argparse.Namespace:
    """As `ftbench.cli.main.main` parses: known options, then `key=value` overrides anywhere."""
    parser = build_parser()
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as exc:
            if exc.code == 0:  # --help, --version
                return argparse.Namespace(command=None)
            raise AssertionError(err.getvalue().strip()) from None
    if extra:
        assert args.command in OVERRIDE_COMMANDS and all(
            "=" in x and not x.startswith("-") for x in extra), f"unrecognized arguments: {extra}"
        args.overrides = [*args.overrides, *extra]
    return args


def _ftbench_argv(cmd: Command) -> list[str] | None:
    argv = cmd.argv
    if argv[0] == "ftbench":
        return argv[1:]
    if argv[:3] == ["python", "-m", "ftbench.cli.main"]:
        return argv[3:]
    if argv[:3] == ["python", "-m", "ftbench.cli.train"]:
        return ["train", *argv[3:]]
    return None


def _check_config(args: argparse.Namespace) -> None:
    """Apply the overrides to the config the command names, when that config ships here."""
    from ftbench.core.paths import CONFIGS_DIR

    if args.command == "demo":
        config = CONFIGS_DIR / ("demo_real.yaml" if args.real else "demo.yaml")
    elif args.command == "eval" and args.study is not None:
        config, args.command, args.overrides = args.study, "study", []
    elif args.command in ("study", "train", "glue"):
        config = args.config
    else:
        return
    config = config if config.is_absolute() else REPO / config
    overrides = list(args.overrides)
    if not config.is_file() or any("$" in o or "…" in o for o in overrides):
        return
    if args.command in ("study", "demo"):
        from ftbench.pipelines.study_config import load_study_config as load
    elif args.command == "train":
        from ftbench.train.config import load_config as load
    else:  # `ftbench glue`: a study, reading the GLUE matrix's older format too
        from ftbench.pipelines.study_config import load_study_config

        load_study_config(config, overrides, suite_format="glue")
        return
    load(config, overrides)


@pytest.mark.parametrize("cmd", [c for c in SHELL_COMMANDS if _ftbench_argv(c) is not None],
                         ids=_ids([c for c in SHELL_COMMANDS if _ftbench_argv(c) is not None]))
def test_ftbench_command_parses_and_its_overrides_apply(cmd):
    try:
        args = _parse_ftbench(_ftbench_argv(cmd))
        _check_config(args)
    except Exception as exc:
        pytest.fail(f"{cmd.where}: `{cmd.text}`: {exc}")


@pytest.mark.parametrize("cmd", [c for c in SHELL_COMMANDS if c.argv[0] in ("lm_eval", "lm-eval")],
                         ids=_ids([c for c in SHELL_COMMANDS if c.argv[0] in ("lm_eval", "lm-eval")]))
def test_lm_eval_command_parses_with_lm_evals_own_cli(cmd):
    from lm_eval._cli import HarnessCLI

    from ftbench.core.paths import TASKS_DIR

    cli = HarnessCLI()
    argv = [w.replace("$(ftbench tasks-path)", str(TASKS_DIR)) for w in cmd.argv[1:]]
    if argv and argv[0] not in cli._subparsers.choices:  # lm-eval's legacy form: `run` implied
        argv = ["run", *argv]
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            cli._parser.parse_args(argv)
        except SystemExit:
            pytest.fail(f"{cmd.where}: `{cmd.text}`: {err.getvalue().strip()}")


def test_make_targets_and_repository_paths_exist():
    targets = set(re.findall(r"^([\w-]+):", (REPO / "Makefile").read_text(), flags=re.M))
    problems = []
    for cmd in SHELL_COMMANDS:
        if cmd.argv[0] == "make":
            problems += [f"{cmd.where}: no Makefile target {t!r}" for t in cmd.argv[1:]
                         if not t.startswith("-") and t not in targets]
        for word in [*cmd.argv, *cmd.env.values()]:
            if REPO_PATH.match(word) and not (REPO / word).exists():
                problems.append(f"{cmd.where}: `{cmd.text}` names {word}, which does not exist")
    assert not problems, "\n".join(problems)


def _written_ftbench_lines() -> list[tuple[str, str]]:
    """(where, text) of every `ftbench …` written outside bash blocks: lines of other blocks
    (with their indented continuation lines, comments dropped) and inline code."""
    found: list[list[str]] = []
    for b in BLOCKS:
        if b.lang in SHELL:
            continue
        current = None
        for n, line in enumerate(b.text.splitlines()):
            code = line.split(" #")[0]
            if line.startswith("ftbench "):
                current = [f"{b.where}+{n + 1}", code]
                found.append(current)
            elif current is not None and line.startswith(" ") and line.strip():
                current[1] += " " + code.strip()
            else:
                current = None
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        prose = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", text, flags=re.M | re.S)
        for m in re.finditer(r"`(ftbench [^`]+)`", prose):
            found.append([str(path.relative_to(REPO)), " ".join(m.group(1).split())])
    return [(where, text) for where, text in found]


def test_every_flag_written_after_an_ftbench_command_exists():
    commands_ = _commands()
    problems = []
    for where, text in _written_ftbench_lines():
        words = text.split()[1:]
        path, wrong = _command_path(words)
        if wrong is not None:
            problems.append(f"{where}: `{text}`: {wrong!r} is not a command of {path or 'ftbench'}")
            continue
        parser = commands_.get(path)  # None: a group such as `data`, no options of its own
        options = (_options(parser) if parser else set()) | {"--help"}
        unknown = sorted(_flags(text) - options)
        if unknown:
            problems.append(f"{where}: `{text}`: ftbench {' '.join(path)} has no {unknown}")
    assert not problems, "\n".join(problems)


def test_the_cli_synopsis_lists_every_command_and_flag():
    (synopsis,) = [b for b in BLOCKS if b.marker == "cli-synopsis"]
    documented: dict[tuple[str, ...], set[str]] = {}
    current = None
    common: set[str] = set()  # "every command ..." lists the flags all commands take
    for line in synopsis.text.splitlines():
        line = line.split(" #")[0]
        if line.startswith("every command"):
            common |= _flags(line)
            current = None
            continue
        if line.startswith("ftbench"):
            current, _ = _command_path(line.split()[1:])
            documented.setdefault(current, set())
        if current is not None:
            documented[current] |= _flags(line)
    actual = {path: _options(p) for path, p in _commands().items()}
    assert sorted(documented) == sorted(actual), f"{synopsis.where}: commands differ"
    for path, options in actual.items():
        shown = (documented[path] | (common if path else set())) - {"--help"}
        assert shown == options, (f"{synopsis.where}: ftbench {' '.join(path)}: missing "
                                  f"{sorted(options - shown)}, not in the parser "
                                  f"{sorted(shown - options)}")


def test_study_config_blocks_load(tmp_path):
    from ftbench.pipelines.study_config import load_study_config

    configs = [b for b in BLOCKS if b.marker == "study-config"]
    assert configs, "the README's study config example is gone"
    for b in configs:
        path = tmp_path / "study.yaml"
        path.write_text(b.text, encoding="utf-8")
        try:
            load_study_config(path)
        except Exception as exc:
            pytest.fail(f"{b.where}: {exc}")


def _code(text: str) -> str:
    """Python source without its docstring, comments and whitespace, to compare two copies."""
    import ast

    body = ast.parse(text).body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        text = "\n".join(text.splitlines()[body[0].end_lineno:])
    return re.sub(r"\s+", "", re.sub(r"#[^\n]*", "", text))


def test_the_suites_page_shows_the_tested_toy_suite():
    """docs/suites.md's module is the one tests/suites/test_toy_suite.py runs a study with."""
    import ast

    source = (REPO / "tests" / "suites" / "toy_domain.py").read_text(encoding="utf-8")
    (tested,) = [node.value.value for node in ast.parse(source).body
                 if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") ==
                 "SUITE_MODULE"]
    (shown,) = [b for b in blocks(REPO / "docs" / "suites.md") if b.lang == "python"]
    assert _code(shown.text) == _code(tested), (
        f"{shown.where}: the toy suite differs from SUITE_MODULE in tests/suites/toy_domain.py")


def _shims(bin_dir: Path) -> None:
    """`ftbench` and `lm_eval` of this checkout and this interpreter, whatever is installed."""
    bin_dir.mkdir()
    for name, module in (("ftbench", "ftbench.cli.main"), ("lm_eval", "lm_eval")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
        shim.chmod(0o755)


def test_offline_blocks_run(tmp_path):
    runnable = [c for b in BLOCKS if b.marker == "runs-offline" for c in commands(b)]
    assert runnable, "no block is marked <!-- runs-offline -->"
    work = tmp_path / "cwd"
    work.mkdir()
    for name in ("ftbench", "configs", "tasks"):  # the paths the examples name, read-only use
        (work / name).symlink_to(REPO / name)
    _shims(tmp_path / "bin")
    env = {**os.environ, "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    for cmd in runnable:
        t0 = time.time()
        proc = subprocess.run(["bash", "-c", cmd.text], cwd=work, env=env, capture_output=True,
                              text=True, timeout=RUN_TIMEOUT_S)
        assert proc.returncode == 0, (f"{cmd.where}: `{cmd.text}` exited {proc.returncode} after "
                                      f"{time.time() - t0:.1f} s:\n{proc.stderr[-2000:]}")


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    anchors, seen, fence = set(), {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        opening = re.match(r"^\s*(`{3,}|~{3,})", line)
        if opening:
            if fence is None:
                fence = opening.group(1)
            elif line.strip().startswith(fence):
                fence = None
            continue
        if fence is None and line.startswith("#"):
            slug = _slug(line.lstrip("#"))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def test_relative_links_and_anchors_resolve():
    problems = []
    for path in doc_files():
        text = path.read_text(encoding="utf-8")
        prose = re.sub(r"^(`{3,}|~{3,}).*?^\1", "", text, flags=re.M | re.S)
        prose = re.sub(r"`[^`]*`", "", prose)
        for target in re.findall(r"\]\(([^)\s]+)\)", prose):
            if re.match(r"^[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            dest = (path.parent / file).resolve() if file else path
            if not dest.exists():
                problems.append(f"{path.relative_to(REPO)}: link {target}: no such file")
            elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
                problems.append(f"{path.relative_to(REPO)}: link {target}: no such heading")
    assert not problems, "\n".join(problems)


def test_no_internal_issue_numbers():
    pattern = re.compile(r"(?<![\w&/#])#\d+\b|\bissues?\s*#?\d+", re.I)
    found = [f"{path.relative_to(REPO)}:{n}: {line.strip()}"
             for path in doc_files()
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if pattern.search(line)]
    assert not found, "\n".join(found)


def test_the_readme_is_a_front_door():
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; the reference belongs in docs/"
    readme = "\n".join(lines)
    for must in ("make demo", "make test", "report/index.html", "ftbench eval", "ftbench study",
                 "docs/suites.md", "docs/scale-out.md", "docs/benchmarks.md"):
        assert must in readme, must
    linked = set(re.findall(r"\]\(docs/([\w.-]+\.md)", readme))
    assert {p.name for p in (REPO / "docs").glob("*.md")} <= linked, "a docs page the README omits"
