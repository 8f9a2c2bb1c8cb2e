"""One adapter path (issue 18, item 5): every trainer adapter gets its scorer through
:func:`rewardhub.adapters.scorer.resolve_scorer`, with one documented precedence, one cache
and the token always passed on; :class:`~rewardhub.Scorer` and
:class:`~rewardhub.remote.RemoteScorer` both satisfy :class:`~rewardhub.engine.protocol.ScorerLike`."""

from __future__ import annotations

import inspect
import socket

import pytest

from rewardhub import Scorer
from rewardhub.adapters import openrlhf, swift, trl, verl
from rewardhub.adapters.scorer import clear_shared, resolve, resolve_scorer
from rewardhub.engine.protocol import MEMBERS, ScorerLike, is_scorer_like

PROMPT = "<|im_start|>user\nCount.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("REWARDHUB_URL", "REWARDHUB_CONFIG", "REWARDHUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    clear_shared()
    yield
    clear_shared()


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


@pytest.mark.parametrize(
    ("rewards", "url", "env", "expected"),
    [
        ("a", "http://u", {"REWARDHUB_URL": "http://e", "REWARDHUB_CONFIG": "b"}, ("a", "http://u")),
        ("a", None, {"REWARDHUB_URL": "http://e", "REWARDHUB_CONFIG": "b"}, ("a", None)),
        (None, None, {"REWARDHUB_URL": "http://e", "REWARDHUB_CONFIG": "b"}, ("b", "http://e")),
        (None, None, {"REWARDHUB_CONFIG": "b"}, ("b", None)),
        (None, "http://u", {"REWARDHUB_CONFIG": "b"}, (None, "http://u")),
    ],
)
def test_the_precedence(rewards, url, env, expected):
    """Arguments beat the environment; a URL beats rewards at the same level (they then pick)."""
    resolution = resolve(rewards, url=url, environ=env)
    assert (resolution.rewards, resolution.url) == expected


def test_nothing_configured_says_what_the_trainer_may_set():
    with pytest.raises(ValueError, match="REWARDHUB_CONFIG"):
        resolve_scorer(environ={})
    with pytest.raises(ValueError, match="reward_kwargs.rewardhub_config"):
        verl.compute_score("ds", "an answer", "4")


def test_every_adapter_follows_it_an_argument_beats_a_server_in_the_environment(monkeypatch):
    """OpenRLHF once let REWARDHUB_URL win over the rewardhub_config it was given."""
    local = openrlhf.reward_func([PROMPT + "one one one two"], [PROMPT], None, rewardhub_config="repetition_penalty")
    clear_shared()
    monkeypatch.setenv("REWARDHUB_URL", _closed_port_url())  # would fail every sample if it were asked
    given = openrlhf.reward_func([PROMPT + "one one one two"], [PROMPT], None, rewardhub_config="repetition_penalty")
    assert [float(v) for v in given["rewards"]] == [float(v) for v in local["rewards"]]
    assert [float(v) for v in given["extra_logs"]["rewardhub_missing"]] == [0.0]
    row = verl.compute_score("ds", "one one one two", None, {}, rewards=["repetition_penalty"])
    assert row["rewardhub_missing"] == 0.0 and row["score"] == pytest.approx(float(local["rewards"][0]))
    functions = trl.reward_funcs(["repetition_penalty"])
    assert functions.names == ["repetition_penalty"] and isinstance(functions.scorer, Scorer)


def test_one_cache_for_every_adapter():
    shared = verl.scorer_for({"rewards": "repetition_penalty"})
    assert openrlhf._scorer("repetition_penalty") is shared
    assert verl.scorer_for({"rewards": "repetition_penalty"}) is shared
    assert openrlhf._scorer("repetition_penalty,diversity_bonus") is not shared


def test_verl_passes_the_token_on():
    """verl's reward_kwargs once had no way to give a server's token (the cache dropped it)."""
    scorer = verl.scorer_for({"rewardhub_url": _closed_port_url(), "rewardhub_token": "s3cret"})
    try:
        assert scorer._client.headers["Authorization"] == "Bearer s3cret"
    finally:
        scorer.close()


def test_swift_registers_what_the_environment_names(monkeypatch):
    monkeypatch.setenv("REWARDHUB_CONFIG", "repetition_penalty,diversity_bonus:0.5")
    entries = swift.configured_entries()
    assert [(e.key, e.weight) for e in entries] == [("repetition_penalty", 1.0), ("diversity_bonus", 0.5)]


def test_scorer_and_remote_scorer_are_scorer_like():
    from rewardhub.remote import RemoteScorer

    with Scorer(["repetition_penalty"]) as scorer:
        assert isinstance(scorer, ScorerLike) and is_scorer_like(scorer)
        assert resolve_scorer(scorer) is scorer
    remote = RemoteScorer(_closed_port_url())
    try:
        assert is_scorer_like(remote)  # read from the class: no request is made
        assert resolve_scorer(remote) is remote
        for name in MEMBERS:
            ours, theirs = inspect.getattr_static(Scorer, name, None), inspect.getattr_static(RemoteScorer, name)
            if callable(theirs) and callable(ours):
                assert list(inspect.signature(ours).parameters) == list(inspect.signature(theirs).parameters), name
    finally:
        remote.close()
    assert not is_scorer_like(["repetition_penalty"]) and not is_scorer_like("token_entropy")
