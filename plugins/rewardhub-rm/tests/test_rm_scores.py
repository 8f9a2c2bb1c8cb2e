"""``reward_model`` scores equal a hand-written transformers forward of the same rendering
(fp32, within 1e-4), for the MiniLM encoder RM and the tiny decoder RM, chat-message and string
prompts, in any batch order and packing."""

from __future__ import annotations

import random

import pytest
from rewardhub_rm import RewardModel

from rewardhub import Sample, Scorer

PROMPTS = [
    "Write a short poem about the rain.",
    "Explain why the sky is blue.",
    "List three things to take to a desert island.",
]
RESPONSES = [
    "The rain falls on the roof.",
    "Because of Rayleigh scattering, blue light is scattered more than red light by the air.",
    "Water, a knife, and a very long book about the sea and the moon and the tide.",
    "Rivers run to the sea.",
    "",
    "A cat sat on the mat and looked at the moon " * 4,
]


def samples() -> list[Sample]:
    out = []
    for i, response in enumerate(RESPONSES):
        prompt = PROMPTS[i % len(PROMPTS)]
        out.append(Sample(response, prompt=prompt))  # a string prompt: one user turn
        out.append(Sample(response, prompt=[{"role": "user", "content": prompt}]))  # chat messages
    return out


def raw(scores) -> list[float]:
    return [s.info["raw"] for s in scores]


@pytest.mark.parametrize("which", ["minilm_rm", "decoder_rm"])
def test_scores_equal_a_hand_written_forward_in_any_order(which, request, reference):
    path = request.getfixturevalue(which)
    batch = samples()
    expected = reference(path, batch)
    assert len({round(v, 4) for v in expected}) > len(RESPONSES) // 2  # the text matters
    reward = RewardModel(model=path, device="cpu", dtype="float32")
    scores = reward.score(batch)
    assert [s.value for s in scores] == pytest.approx(expected, abs=1e-4)
    assert raw(scores) == pytest.approx(expected, abs=1e-4)
    rng = random.Random(0)
    for budget in (1, 40, 100, 10_000):  # one per micro-batch ... everything in one
        order = list(range(len(batch)))
        rng.shuffle(order)
        shuffled = RewardModel(model=path, device="cpu", dtype="float32", max_tokens_per_batch=budget)
        got = raw(shuffled.score([batch[i] for i in order]))
        assert got == pytest.approx([expected[i] for i in order], abs=1e-4), budget


def test_string_and_single_message_prompts_render_the_same(decoder_rm, minilm_rm):
    for path in (decoder_rm, minilm_rm):
        reward = RewardModel(model=path, device="cpu")
        as_string, as_chat = reward.score(
            [Sample("hi there", prompt="Say hi."), Sample("hi there", prompt=[{"role": "user", "content": "Say hi."}])]
        )
        assert as_string.value == pytest.approx(as_chat.value, abs=1e-6)


def test_info_holds_raw_value_and_token_count(decoder_rm):
    reward = RewardModel(model=decoder_rm, device="cpu", normalize={"mean": 0.5, "std": 2.0})
    (score,) = reward.score([Sample("The sea is calm.", prompt="Describe the sea.")])
    tokenizer = reward.load()[1].tokenizer
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Describe the sea."}, {"role": "assistant", "content": "The sea is calm."}],
        tokenize=False,
    )
    assert score.info["tokens"] == len(tokenizer(text, add_special_tokens=False)["input_ids"])
    assert score.info["truncated"] is False and "heads" not in score.info
    assert score.value == pytest.approx((score.info["raw"] - 0.5) / 2.0)


def test_decoder_without_a_pad_token_scores_batches_like_one_at_a_time(make_decoder_rm, reference):
    path = make_decoder_rm(pad=False, ends_in_eos=True)  # padding with the EOS would misread these
    batch = samples()
    expected = reference(path, batch)  # batches of one: transformers reads the last token
    reward = RewardModel(model=path, device="cpu", max_tokens_per_batch=4096)
    assert raw(reward.score(batch)) == pytest.approx(expected, abs=1e-4)
    assert "absent from each micro-batch" in reward.provenance["padding"]
    assert reward.provenance["stats"]["micro_batches"] == 1  # one padded batch, not one per sample


def test_tokenizer_padding_left_does_not_change_scores(make_decoder_rm, reference):
    path = make_decoder_rm(padding_side="left")
    batch = samples()
    reward = RewardModel(model=path, device="cpu", max_tokens_per_batch=4096)
    assert raw(reward.score(batch)) == pytest.approx(reference(path, batch), abs=1e-4)


def test_multi_output_rm_exposes_every_head_and_head_picks_one(make_decoder_rm, reference):
    path = make_decoder_rm(labels=["helpfulness", "correctness", "verbosity"])
    batch = samples()[:4]
    unchosen = RewardModel(model=path, device="cpu").score(batch)  # which one is the reward? no guess
    assert all(isinstance(r, ValueError) for r in unchosen)
    assert "3 outputs (helpfulness, correctness, verbosity): set head" in str(unchosen[0])
    by_name = RewardModel(model=path, device="cpu", head="correctness").score(batch)
    by_index = RewardModel(model=path, device="cpu", head=1).score(batch)
    expected = reference(path, batch, head=1)
    assert [s.value for s in by_name] == pytest.approx(expected, abs=1e-4)
    assert [s.value for s in by_index] == pytest.approx(expected, abs=1e-4)
    heads = by_name[0].info["heads"]
    assert list(heads) == ["helpfulness", "correctness", "verbosity"]
    assert heads["verbosity"] == pytest.approx(reference(path, batch[:1], head=2)[0], abs=1e-4)
    wrong = RewardModel(model=path, device="cpu", head="harmlessness").score(batch)
    assert all(isinstance(r, ValueError) and "not an output" in str(r) for r in wrong)


def test_model_loads_once_on_first_score_and_is_shared(decoder_rm, monkeypatch):
    from rewardhub_rm import local
    from transformers import AutoModelForSequenceClassification

    loads = []
    original = AutoModelForSequenceClassification.from_pretrained

    def counting(*args, **kwargs):
        loads.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", counting)
    monkeypatch.setattr(local, "_loaded", type(local._loaded)())
    scorer = Scorer(
        [
            {"name": "reward_model", "args": {"model": decoder_rm, "device": "cpu"}},
            {
                "name": "reward_model",
                "as": "rm_normalized",
                "args": {"model": decoder_rm, "device": "cpu", "normalize": {"mean": 1, "std": 2}},
            },
        ]
    )
    assert loads == []  # nothing at construction
    for step in range(3):  # training steps: never reloaded
        batch = scorer.score([Sample(f"answer {step} {i}", prompt="q") for i in range(4)])
        assert all(v is not None for v in batch.components["reward_model"])
    assert loads == [decoder_rm]
    first, second = (c.reward for c in scorer.components)
    assert first.load()[0] is second.load()[0]
    assert batch.components["rm_normalized"] == pytest.approx([(v - 1) / 2 for v in batch.components["reward_model"]])


def test_a_missing_model_fails_its_samples_only(tmp_path):
    scorer = Scorer([{"name": "reward_model", "args": {"model": str(tmp_path / "absent")}}, "length"])
    batch = scorer.score([Sample("one"), Sample("two")])
    assert batch.components["reward_model"] == [None, None]
    assert all("reward_model" in e for e in batch.errors)
    assert batch.components["length"] == [1.0, 1.0]  # the other reward stands


def test_hub_ids_fail_fast_offline():
    import time

    reward = RewardModel(model="Skywork/Skywork-Reward-V2-Llama-3.1-8B")
    start = time.monotonic()
    with pytest.raises(OSError):
        reward.score([Sample("hi", prompt="hello")])
    assert time.monotonic() - start < 30  # HF_HUB_OFFLINE=1: no network wait


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"dtype": "int8"}, "dtype"),
        ({"device": "gpu"}, "device"),
        ({"max_tokens_per_batch": 0}, "max_tokens_per_batch"),
        ({"head": -1}, "head"),
        ({"normalize": {"mean": 0}}, "normalize"),
        ({"normalize": {"mean": 0, "std": 0}}, "std > 0"),
        ({"template": "{prompt} only"}, "response"),
        ({"template": "{prompt} {answer} {response}"}, "answer"),
        ({"backend": "vllm"}, "base_url"),
        ({"backend": "tgi", "base_url": "http://x"}, "backend"),
        ({"base_url": "http://x"}, "base_url is for"),
    ],
)
def test_bad_arguments_are_named(args, message):
    with pytest.raises(ValueError, match=message):
        RewardModel(model="some/model", **args)


def test_token_counts_are_what_score_reads(decoder_rm):
    reward = RewardModel(model=decoder_rm, device="cpu", max_length=48)
    batch = samples()
    assert reward.token_counts(batch) == [s.info["tokens"] for s in reward.score(batch)]
