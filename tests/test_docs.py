"""Every code block in ``docs/`` and the README stays true (issue 18, item 9):

- a ``python`` block runs, as written, in a fresh interpreter from the repository root;
- a ``bash``/``console`` block's ``rewardhub ...`` commands parse: the command exists and
  every option and argument is one it takes (click parses them without running anything),
  ``python FILE`` names a file that exists, ``pip install ./PATH`` a path that exists;
- a ``yaml`` block parses, and one that configures rewards or metrics loads as a config.

A block that cannot run here says why in a comment on the line before its fence:
``<!-- docs-test: skip: the reason -->`` (a synopsis, a GPU, a hub model, a real endpoint) or
``<!-- docs-test: realdata -->`` (it reads ``../shared/realdata``: skipped where absent). A
python block that continues the one before it on its page says ``<!-- docs-test: continue -->``.
Every skip needs a reason (tested below); ``mkdocs build --strict`` is run by CI.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import yaml

from tests.conftest import ROOT

DOCS = ROOT / "docs"
REALDATA = ROOT.parent / "shared" / "realdata"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
DIRECTIVE = re.compile(r"<!--\s*docs-test:\s*(skip|realdata|continue)\s*(?::\s*(.*?))?\s*-->\s*$")


@dataclass
class Block:
    page: Path
    line: int
    language: str
    code: str
    directive: str | None
    reason: str | None

    @property
    def id(self) -> str:
        return f"{self.page.name}:{self.line}"


def blocks(page: Path) -> list[Block]:
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        directive = DIRECTIVE.search(before)
        found.append(
            Block(
                page,
                line,
                match.group(1),
                match.group(2),
                directive.group(1) if directive else None,
                directive.group(2) if directive else None,
            )
        )
    return found


PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
ALL = [b for page in PAGES for b in blocks(page)]


def _skip_if_told(block: Block) -> None:
    if block.directive == "skip":
        pytest.skip(block.reason or "")
    if block.directive == "realdata" and not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")


def _python_source(block: Block) -> str:
    """The block, after the blocks it continues (``docs-test: continue``) on its page."""
    if block.directive != "continue":
        return block.code
    page = [b for b in blocks(block.page) if b.language == "python"]
    at = next(i for i, b in enumerate(page) if b.line == block.line)
    start = at
    while start > 0 and page[start].directive == "continue":
        start -= 1
    return "\n".join(b.code for b in page[start : at + 1])


@pytest.mark.parametrize("block", [b for b in ALL if b.language == "python"], ids=lambda b: b.id)
def test_python_blocks_run(block, tmp_path):
    _skip_if_told(block)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "REWARDHUB_CACHE_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", _python_source(block)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{block.id}\n{result.stderr[-3000:]}"


def _commands(code: str) -> list[str]:
    """The command lines of a shell block: continuations joined, prompts and comments gone."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = []
    for raw in joined.splitlines():
        line = raw.strip()
        if line.startswith("$ "):
            line = line[2:]
        elif raw.startswith(" ") or not line or line.startswith("#"):
            continue  # console output, blank lines, comments
        lines.append(line)
    return lines


def _words(line: str) -> list[str]:
    """The words of a command this test checks (``rewardhub``, ``python FILE.py``, ``pip
    install``), after ``VAR=value`` prefixes; ``[]`` for any other command."""
    plain = line.split()
    while plain and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$", plain[0]):
        plain = plain[1:]
    if plain[:1] == ["python"] and len(plain) > 1 and plain[1].endswith(".py"):
        return plain[:2]  # python FILE.py ...: the file is what is checked
    if not plain or plain[0] not in ("rewardhub", ".venv/bin/rewardhub", "pip"):
        return []
    words = shlex.split(line, comments=True)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):  # VAR=value rewardhub ...
        words = words[1:]
    return words


def _parse_rewardhub(args: list[str]) -> None:
    from rewardhub.cli import cli

    with cli.make_context("rewardhub", list(args), resilient_parsing=False) as ctx:
        with warnings.catch_warnings():  # click 8.2 deprecates protected_args; 9 folds them into args
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*getattr(ctx, "protected_args", []), *ctx.args]
        name, command, rest = cli.resolve_command(ctx, rest)
        assert command is not None, f"no command {name!r}"
        try:
            command.make_context(name, rest, parent=ctx)
        except click.BadParameter as exc:
            if "does not exist" not in str(exc):  # an example's own file: the words are what we check
                raise


@pytest.mark.parametrize("block", [b for b in ALL if b.language in ("bash", "console")], ids=lambda b: b.id)
def test_shell_blocks_name_real_commands_and_options(block):
    _skip_if_told(block)
    lines = _commands(block.code)
    shown = block.code.splitlines()
    for line in lines:
        # a console block may show a command refused: its next line is rewardhub's error
        after = next((shown[i + 1] for i, raw in enumerate(shown[:-1]) if raw.strip() == f"$ {line}"), "")
        refused = block.language == "console" and after.startswith("rewardhub: error")
        for part in re.split(r"\s*(?:&&|\|\||;)\s*", line):
            words = _words(part)
            if not words:
                continue
            if words[0] in ("rewardhub", ".venv/bin/rewardhub"):
                try:
                    _parse_rewardhub(words[1:])
                except (click.UsageError, click.BadParameter, ValueError, SystemExit) as exc:
                    if not refused:  # (a refusal may also come later, when the command runs)
                        pytest.fail(f"{block.id}: {part}\n{exc}")
            elif words[0] == "python" and len(words) > 1 and words[1].endswith(".py"):
                assert (ROOT / words[1]).is_file(), f"{block.id}: {words[1]} does not exist"
            elif words[:2] == ["pip", "install"]:
                for word in words[2:]:
                    if word.startswith(("./plugins/", "plugins/")):
                        assert (ROOT / word.split("[")[0]).exists(), f"{block.id}: {word} does not exist"


@pytest.mark.parametrize("block", [b for b in ALL if b.language == "yaml"], ids=lambda b: b.id)
def test_yaml_blocks_parse_and_configs_load(block, tmp_path):
    _skip_if_told(block)
    data = yaml.safe_load(block.code)
    assert data is not None, block.id
    if isinstance(data, dict) and ({"rewards", "metrics"} & set(data)):
        from rewardhub.config import load_config

        path = tmp_path / "config.yaml"
        path.write_text(block.code, encoding="utf-8")
        load_config(path)


def test_every_skip_says_why():
    unexplained = [b.id for b in ALL if b.directive == "skip" and not b.reason]
    assert unexplained == []


def test_the_pages_have_blocks_to_check():
    assert len(PAGES) >= 15 and sum(b.language == "python" for b in ALL) >= 15
