"""The command group: built-ins load when run, plugin commands after --disable is applied, a
plugin never replaces a built-in, and what people see (progress phases, the plugins hint)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import click
from click.testing import CliRunner

import rewardhub
from rewardhub.cli import BUILTIN_COMMANDS, cli, load_builtin
from rewardhub.evaluation import EvalOptions, evaluate_files
from tests.conftest import EVALDATA, ROOT

RUN = [sys.executable, "-m", "rewardhub"]

HANGS_AT_IMPORT = """
import time
time.sleep(600)  # a plugin whose import never returns
"""

CLAIMS_EVAL = """
import click
import rewardhub


@rewardhub.hookimpl
def register_commands(cli):
    @cli.command(name="eval")
    def hijack():
        click.echo("not the real eval")

    @cli.command(name="shout")
    def shout():
        click.echo("SHOUT")
"""


INTERRUPTS_ITS_COMMANDS = """
import rewardhub


@rewardhub.hookimpl
def register_commands(cli):
    raise KeyboardInterrupt("a plugin bug, not the user's Ctrl-C")
"""


def cli_process(*args: str, site=None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run([*RUN, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout)


def test_every_builtin_command_resolves_and_help_lists_them_without_importing_them():
    for name in BUILTIN_COMMANDS:
        assert isinstance(load_builtin(name), click.Command) and load_builtin(name).name == name
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom rewardhub.cli import cli\n"
        "out = CliRunner().invoke(cli, ['--help']).output\n"
        "heavy = {'pandas', 'numpy', 'rich', 'yaml', 'pluggy', 'rewardhub.engine', 'rewardhub.plugins'}\n"
        "print(sorted(heavy & set(sys.modules)), all(n in out for n in sys.argv[1:]))"
    )
    done = subprocess.run([sys.executable, "-c", code, *BUILTIN_COMMANDS], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.split() == ["[]", "True"], done.stderr


def test_disable_keeps_a_plugin_that_hangs_at_import_out_of_every_command(fake_distribution):
    site = fake_distribution("rewardhub-hangs", "rh_hangs", HANGS_AT_IMPORT)
    assert "Commands from plugins" in cli_process("--help", site=site).stdout  # --help imports no plugin
    chat = str(EVALDATA / "chat_en.jsonl")
    scored = cli_process("--disable", "rewardhub-hangs", "eval", chat, "--rewards", "entropy", "--json", site=site)
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout)["n"] == 21
    unknown = cli_process("--disable", "rh_hangs", "no-such-command", site=site)
    assert unknown.returncode == 2 and "No such command 'no-such-command'" in unknown.stderr


def test_a_plugin_command_never_replaces_a_builtin(fake_distribution):
    fake_distribution("rewardhub-claims", "rh_claims", CLAIMS_EVAL)
    runner = CliRunner()
    result = runner.invoke(cli, ["shout"])
    assert result.exit_code == 0 and result.stdout == "SHOUT\n"
    assert "adds a command 'eval'; a built-in has that name, so it is skipped" in result.stderr
    real = runner.invoke(cli, ["eval", str(EVALDATA / "chat_en.jsonl"), "--rewards", "entropy", "--json"])
    assert json.loads(real.stdout)["n"] == 21
    listed = json.loads(runner.invoke(cli, ["plugins", "--json"]).stdout)
    assert next(p for p in listed if p["distribution"] == "rewardhub-claims")["commands"] == ["eval", "shout"]


def test_a_plugin_raising_keyboardinterrupt_in_register_commands_is_its_failure(fake_distribution):
    site = fake_distribution("rewardhub-interrupts", "rh_interrupts", INTERRUPTS_ITS_COMMANDS)
    looked_up = cli_process("no-such-command", site=site)  # plugin commands load for an unknown name
    assert looked_up.returncode == 2 and "No such command 'no-such-command'" in looked_up.stderr
    assert "'rh_interrupts' register_commands failed: KeyboardInterrupt" in looked_up.stderr
    assert "Traceback" not in looked_up.stderr


def test_unknown_names_in_disable_are_warned_with_the_known_ones():
    result = CliRunner().invoke(cli, ["--disable", "no-such-plugin", "rewards", "--json"])
    assert result.exit_code == 0
    warning = next(line for line in result.stderr.splitlines() if "no-such-plugin" in line)
    assert warning.startswith("rewardhub: warning:") and "rewardhub-entropy" in warning


def test_plugins_says_how_to_see_the_builtins(monkeypatch):
    monkeypatch.setenv("REWARDHUB_LOAD_PLUGINS", "")
    rewardhub.plugins.reset()
    result = CliRunner().invoke(cli, ["plugins"])
    assert "No plugins installed besides the" in result.stdout and "rewardhub plugins --all" in result.stdout


def test_progress_reports_reading_loading_models_scoring_and_metrics():
    phases: list[str] = []
    options = EvalOptions(rewards=["entropy"], metrics=["distinct"], chunk_size=8)
    evaluate_files([EVALDATA / "chat_en.jsonl"], options, lambda phase, done, total: phases.append(phase))
    main = [p for p in phases if not p.startswith("metric ")]  # "metric KEY": the metric at work
    assert [p for i, p in enumerate(main) if i == 0 or main[i - 1] != p] == [
        "reading",
        "loading models",
        "scoring",
        "metrics",
    ]
    assert "metric distinct" in phases
