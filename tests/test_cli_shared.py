"""The command line's shared pieces (issue 18, item 3): one module of options several commands
take (:mod:`rewardhub.cli.options`) and one mapping of errors to exit statuses
(:mod:`rewardhub.cli.errors`), used by every command."""

from __future__ import annotations

import json
import re

import click
import pytest
from click.testing import CliRunner

from rewardhub.cli import BUILTIN_COMMANDS, cli, load_builtin
from rewardhub.cli.errors import EXIT_CONFIG, EXIT_INPUT, exit_code
from rewardhub.config import MISSING_POLICIES, ConfigError
from rewardhub.evaluate.backends import BackendError
from rewardhub.host.registry import PluginError
from rewardhub.io import InputError, OutputError, ResumeError
from tests.conftest import EVALDATA, ROOT

SHARED = ("--rewards", "--metrics", "--config", "--missing", "--timeout", "--tokenize", "--prompt-field")


def test_each_shared_option_is_written_once():
    """No command module spells a shared option itself: they all take it from cli/options.py."""
    for path in sorted((ROOT / "rewardhub").rglob("*.py")):
        if path.name == "options.py" and path.parent.name == "cli":
            continue
        text = path.read_text()
        for option in SHARED:
            assert not re.search(rf"click\.option\(\s*\"{option}\"", text), f"{path}: defines {option} itself"


def _options(command: click.Command) -> dict[str, click.Option]:
    return {opt: p for p in command.params if isinstance(p, click.Option) for opt in p.opts}


def test_shared_options_mean_the_same_in_every_command():
    commands = {name: load_builtin(name) for name in BUILTIN_COMMANDS}
    seen: dict[str, list[str]] = {}
    for name, command in commands.items():
        for option, param in _options(command).items():
            if option in SHARED:
                seen.setdefault(option, []).append(name)
                if option == "--missing":
                    assert tuple(param.type.choices) == MISSING_POLICIES
    assert set(seen["--rewards"]) >= {"eval", "serve", "compare", "report"}
    assert set(seen["--prompt-field"]) >= {"eval", "compare", "report", "pairs"}
    assert set(seen["--missing"]) >= {"eval", "serve"} and set(seen["--timeout"]) >= {"eval", "serve"}
    for option in ("--tokenize", "--prompt-field", "--missing", "--timeout", "--config"):
        params = [_options(commands[name])[option] for name in seen[option]]
        assert len({json.dumps(p.to_info_dict(), sort_keys=True, default=str) for p in params}) == 1, option


@pytest.mark.parametrize("command", [["eval", str(EVALDATA / "chat_en.jsonl")], ["serve"]])
def test_a_bad_timeout_is_the_same_line_and_status_everywhere(command):
    result = CliRunner().invoke(cli, [*command, "--rewards", "repetition_penalty", "--timeout", "0"])
    assert result.exit_code == EXIT_CONFIG
    assert result.stderr.strip() == "rewardhub: error: --timeout must be a positive number of seconds, got 0.0"


def test_one_mapping_of_errors_to_statuses():
    assert exit_code(InputError("a.jsonl", 3, "bad")) == EXIT_INPUT
    assert exit_code(OutputError("out: disk full")) == EXIT_INPUT
    assert exit_code(PermissionError(13, "Permission denied", "out.html")) == EXIT_INPUT
    for exc in (ConfigError("x"), PluginError("x"), ResumeError("x"), BackendError("x"), ValueError("x")):
        assert exit_code(exc) == EXIT_CONFIG
    assert exit_code(RuntimeError("a bug")) is None


def test_an_output_compare_cannot_write_is_an_input_or_output_error(tmp_path):
    """compare once said 2 (configuration) where eval says 1 for the same kind of failure."""
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    raw = EVALDATA / "chat_en.jsonl"
    args = ["compare", str(raw), str(raw), "--rewards", "repetition_penalty", "--work-dir", str(blocker / "scored")]
    result = CliRunner().invoke(cli, [*args, "--metrics", "none", "-q"])
    assert result.exit_code == EXIT_INPUT, result.output
    assert result.stderr.startswith("rewardhub: error: ") and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_every_command_reports_bad_input_as_status_1(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p", "response": "fine"}\n{not json}\n')
    out = tmp_path / "out"
    runs = {
        "eval": ["eval", str(bad), "--rewards", "repetition_penalty", "-q"],
        "pairs": ["pairs", str(bad), "-o", str(out / "pairs.jsonl")],
        "report": [
            "report",
            str(bad),
            "--rewards",
            "repetition_penalty",
            "--work-dir",
            str(out),
            "-o",
            str(out / "r"),
            "-q",
        ],
    }
    for name, argv in runs.items():
        result = CliRunner().invoke(cli, argv)
        assert result.exit_code == EXIT_INPUT, (name, result.output)
        assert result.stderr.splitlines()[-1].startswith(f"rewardhub: error: {bad}:"), name  # file and line
