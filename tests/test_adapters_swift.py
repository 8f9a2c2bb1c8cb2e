"""The ms-swift adapter: rewardhub rewards as ORMs in ``orms``, loaded with ``--external_plugins``.

Reconstructed from ms-swift 4.6's source (the tests marked below use the real package when it
is installed):

- ``swift/utils/utils.py::import_external_file`` puts the file's directory first on
  ``sys.path`` and executes it as ``_swift_external_<sha256>``;
- ``swift/rlhf_trainers/utils.py::resolve_reward_funcs`` builds ``orms[name](args=args)`` and
  names it after its class (``func.__class__.__name__``);
- ``swift/rl_core/grpo_algorithm.py::compute_rewards_per_func`` calls ``reward_func(completions,
  **reward_kwargs)``: ``completions`` are ``messages[-1]['content']``, ``reward_kwargs`` the
  batched rows (``messages``, ``prompt_id``, dataset columns like ``solution``) plus
  ``trainer_state``; ``None`` becomes NaN.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest

import rewardhub
from rewardhub.adapters import swift as adapter
from rewardhub.config import ComponentConfig


class ORM:  # swift/rewards/orm.py: the base class's constructor
    def __init__(self, args=None, **kwargs):
        self.args = args


class Counting(rewardhub.Reward):
    name = "counting"
    calls = 0

    def score(self, samples):
        Counting.calls += 1
        return [float(len(s.response)) if s.reference is None else float(s.response == s.reference) for s in samples]


def swift_batch(completions, prompts, prompt_ids, **columns):
    """``compute_rewards_per_func``'s arguments for these completions."""
    messages = [
        [{"role": "user", "content": p}, {"role": "assistant", "content": c}]
        for p, c in zip(prompts, completions, strict=True)
    ]
    kwargs = {
        "trainer_state": None,
        "messages": messages,
        "prompt_id": prompt_ids,
        "request_id": list(range(len(prompts))),
        "finish_reason": ["stop"] * len(prompts),
        "rollout_infos": [{}] * len(prompts),
        **columns,
    }
    return [m[-1]["content"] for m in messages], kwargs


@pytest.fixture
def counting_plugin():
    class Plugin:
        @staticmethod
        @rewardhub.hookimpl
        def register_rewards(register):
            register(Counting)

    rewardhub.host.registry.add(Plugin, "counting-plugin")


def test_registers_each_reward_as_a_named_orm():
    orms = {"repetition": type("RepetitionPenalty", (ORM,), {})}
    added = adapter.register(
        orms, ORM, [ComponentConfig("token_entropy"), ComponentConfig("token_entropy", alias="repetition")]
    )
    assert added == {"token_entropy": "token_entropy", "rewardhub_repetition": "repetition"}  # ms-swift's own kept
    assert orms["repetition"].__name__ == "RepetitionPenalty"
    funcs = [orms[name](args=object()) for name in ("token_entropy", "rewardhub_repetition")]
    assert [type(f).__name__ for f in funcs] == ["token_entropy", "rewardhub_repetition"]
    assert all(isinstance(f, ORM) and f.args is not None for f in funcs)


def test_orms_share_one_pass_and_read_swift_columns(counting_plugin):
    orms: dict = {}
    adapter.register(orms, ORM, [ComponentConfig("diversity_bonus"), ComponentConfig("counting")])
    funcs = [orms["diversity_bonus"](), orms["counting"]()]
    completions, kwargs = swift_batch(
        ["red fox", "red fox", "blue sky"], ["q", "q", "r"], [0, 0, 1], solution=[None, "red fox", None]
    )
    Counting.calls = 0
    bonus = funcs[0](completions, **kwargs)
    counting = funcs[1](completions, **kwargs)
    assert bonus == [0.0, 0.0, None]  # identical pair; the third is alone in prompt_id 1: no value
    assert counting == [7.0, 1.0, 8.0]  # the solution column is the reference
    assert Counting.calls == 1


@pytest.fixture
def fake_swift(monkeypatch):
    """A ``swift.rewards`` module with ms-swift 4's names, for machines without ms-swift."""
    package = types.ModuleType("swift")
    rewards = types.ModuleType("swift.rewards")
    rewards.ORM, rewards.orms = ORM, {}
    package.rewards = rewards
    monkeypatch.setitem(sys.modules, "swift", package)
    monkeypatch.setitem(sys.modules, "swift.rewards", rewards)
    return rewards


def import_external_file(path: str):
    """ms-swift's loader, as in swift/utils/utils.py (the real one is used when installed)."""
    py_dir = str(Path(path).parent)
    sys.path.insert(0, py_dir)
    name = f"_swift_external_{hashlib.sha256(path.encode()).hexdigest()}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_external_plugin_file_fills_orms_and_cleans_sys_path(fake_swift, counting_plugin, monkeypatch):
    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy,counting")
    monkeypatch.setattr(sys, "path", list(sys.path))
    import_external_file(adapter.__file__)
    assert {"token_entropy", "counting"} <= set(fake_swift.orms)
    assert str(Path(adapter.__file__).parent) not in sys.path  # trl.py, verl.py there must not shadow
    completions, kwargs = swift_batch(["a b c", "a a a"], ["p", "p"], [0, 0])
    assert fake_swift.orms["token_entropy"]()(completions, **kwargs) == pytest.approx([1.0, 0.0])


@pytest.mark.slow
def test_against_the_installed_ms_swift(counting_plugin, monkeypatch):
    """ms-swift's own loader and reward loop (skipped without ms-swift)."""
    pytest.importorskip("swift.rewards")
    torch = pytest.importorskip("torch")
    from swift.rewards import orms
    from swift.rl_core.grpo_algorithm import compute_rewards_per_func
    from swift.rlhf_trainers.utils import resolve_reward_funcs
    from swift.utils.utils import import_external_file as swift_import

    monkeypatch.setenv("REWARDHUB_CONFIG", "token_entropy,diversity_bonus")
    monkeypatch.setattr(sys, "path", list(sys.path))
    swift_import(adapter.__file__)
    funcs, names = resolve_reward_funcs(["token_entropy", "diversity_bonus", "format"])
    assert names == ["token_entropy", "diversity_bonus", "Format"]

    class Sample:  # the two members compute_rewards_per_func reads
        def __init__(self, prompt, completion, prompt_id):
            self.messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
            self.prompt_id = prompt_id

        def to_reward_row(self):
            return {"messages": self.messages, "prompt_id": self.prompt_id}

    samples = [Sample("q", "x y z", 0), Sample("q", "x y z", 0), Sample("r", "p p p", 1)]
    out = compute_rewards_per_func(samples, funcs, None, device=torch.device("cpu"))
    assert out[:, 0].tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert out[:2, 1].tolist() == pytest.approx([0.0, 0.0])
    assert torch.isnan(out[2, 1])  # alone in its group: None, which ms-swift keeps as NaN
    assert "token_entropy" in orms
