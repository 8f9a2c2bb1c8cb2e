"""Every import path plugins, trainer configs and users' code already use keeps working after the
host was regrouped by job (issue 18, item 4): each old path gives the very objects its new home
defines, every name it defined is still there, and the adapters trainers load by file or by
module name are still files and modules."""

from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import rewardhub
from tests.conftest import ROOT

#: old path -> (new path, the public names the old module defined)
MOVED = {
    "rewardhub.plugins": (
        "rewardhub.host.registry",
        ["DEFAULT_PLUGINS", "ENTRY_POINT_GROUP", "Entry", "PluginError", "PluginFailure", "PluginInfo", "Registry"]
        + ["add", "collect", "get", "load", "normalize_name", "registry", "remove", "reset"],
    ),
    "rewardhub.evaluation": (
        "rewardhub.evaluate",
        ["CHUNK_SIZE", "PRESETS", "EvalOptions", "EvalResult", "ResolvedConfig", "check_inputs"]
        + ["check_tokenizers", "count_rows", "evaluate_files", "resolve_config"],
    ),
    "rewardhub.progress": ("rewardhub.host.progress", ["Listener", "Progress", "listening", "report", "silent"]),
    "rewardhub.devices": ("rewardhub.host.devices", ["quiet_loading", "resolve_device", "resolve_dtype"]),
    "rewardhub.hookspecs": (
        "rewardhub.host.hookspecs",
        ["Register", "hookimpl", "hookspec", "register_commands", "register_metrics", "register_rewards"],
    ),
    "rewardhub.build": ("rewardhub.config.build", ["Component", "build_metrics", "build_rewards"]),
    "rewardhub.calls": (
        "rewardhub.engine.calls",
        ["RewardBusyError", "RewardCaller", "RewardTimeoutWarning", "as_list", "check_timeout"],
    ),
    "rewardhub.metrics_runner": (
        "rewardhub.metrics.runner",
        ["BY_GROUP_PREFIX", "CHUNK", "ExactSum", "MetricResults", "MetricsAccumulator", "compute_metrics"]
        + ["groups_of", "metric_values"],
    ),
    "rewardhub.metrics.state": ("rewardhub.host.state", ["CollectingState", "MetricState", "run_state"]),
    "rewardhub.adapters.pairs": (
        "rewardhub.pairs",
        ["LENGTH_BIAS", "TIE", "PairStats", "Scored", "length_bias", "load_pairs", "make_pairs"]
        + ["pairs_from_files", "preference_row", "read_scored", "write_pairs"],
    ),
    "rewardhub.rewards": (
        "rewardhub.host.kinds",
        ["SAMPLE_FIELDS", "RewardKind", "REWARD_KINDS", "has_field", "lacking_fields", "Reward", "Metric"]
        + ["RewardFunction", "reward", "MetricFunction", "metric", "reward_name", "usable_as", "as_reward"]
        + ["as_metric"],
    ),
    "rewardhub.engine": ("rewardhub.engine.values", ["Batch", "normalize"]),
    "rewardhub.remote": (
        "rewardhub.remote.client",
        ["REMOTE_KEY", "REQUEST_SAMPLES", "RemoteComponent", "RemoteError", "RemoteScorer", "token_bytes"],
    ),
    "rewardhub.config": (
        "rewardhub.config.files",
        ["MISSING_POLICIES", "MAX_CONFIG_BYTES", "MAX_CONFIG_NODES", "MAX_CONFIG_DEPTH", "ConfigError"]
        + ["ComponentConfig", "RunConfig", "parse_component", "parse_components", "read_yaml", "load_config"],
    ),
}
#: Names rewardhub.metrics exported that now live elsewhere: old name -> (new module, new name).
METRICS_MOVED = {
    "REWARDS": ("rewardhub.rewards", "REWARDS"),
    "RepetitionPenalty": ("rewardhub.rewards.diversity", "RepetitionPenalty"),
    "DiversityBonus": ("rewardhub.rewards.diversity", "DiversityBonus"),
    "RepetitionLoop": ("rewardhub.rewards.degeneracy", "RepetitionLoop"),
    "Truncated": ("rewardhub.rewards.degeneracy", "Truncated"),
    "Length": ("rewardhub.metrics.length", "LengthStatistics"),
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_path_gives_the_objects_of_its_new_home(old):
    new, names = MOVED[old]
    before, after = importlib.import_module(old), importlib.import_module(new)
    for name in names:
        assert getattr(before, name) is getattr(after, name), f"{old}.{name}"


def test_names_rewardhub_metrics_exported_still_read_from_it():
    metrics = importlib.import_module("rewardhub.metrics")
    for name, (module, new_name) in METRICS_MOVED.items():
        assert getattr(metrics, name) is getattr(importlib.import_module(module), new_name), name
    assert set(METRICS_MOVED) <= set(metrics.__all__)


def test_the_public_face_keeps_every_name():
    for name in rewardhub.__all__:
        assert getattr(rewardhub, name) is not None, name
    assert rewardhub.Reward is importlib.import_module("rewardhub.rewards").Reward
    assert rewardhub.Scorer is importlib.import_module("rewardhub.engine").Scorer
    assert rewardhub.Scorer is importlib.import_module("rewardhub.engine.scorer").Scorer


def test_trainer_configs_still_find_the_adapters():
    """verl imports ``pkg://rewardhub.adapters.verl`` by name; OpenRLHF's ``--remote_rm_url``
    and ms-swift's ``--external_plugins`` load ``rewardhub/adapters/openrlhf.py`` and
    ``rewardhub/adapters/swift.py`` as files."""
    assert callable(importlib.import_module("rewardhub.adapters.verl").compute_score)
    here = Path(importlib.import_module("rewardhub.adapters").__file__).parent
    for name, attribute in (("openrlhf", "reward_func"), ("swift", "register")):
        path = here / f"{name}.py"
        assert path == ROOT / "rewardhub" / "adapters" / f"{name}.py" and path.is_file()
        spec = importlib.util.spec_from_file_location(f"loaded_as_a_file_{name}", path)
        module = importlib.util.module_from_spec(spec)
        if name == "swift":  # loading the file registers into ms-swift's registry: do that in a child
            code = (
                "import importlib.util, sys\n"
                f"spec = importlib.util.spec_from_file_location('swift_plugin', {str(path)!r})\n"
                "m = importlib.util.module_from_spec(spec)\n"
                "try:\n    spec.loader.exec_module(m)\nexcept ImportError as exc:\n    print('no ms-swift', exc)\n"
                "print(callable(m.register))\n"
            )
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
            assert out.stdout.strip().endswith("True"), out.stderr
            continue
        spec.loader.exec_module(module)
        assert callable(getattr(module, attribute))
