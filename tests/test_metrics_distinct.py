"""Corpus distinct-n and per-response distinct-n against straightforward reference code."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rewardhub import Sample, compute_metrics
from rewardhub.metrics import Distinct, DistinctAverage
from rewardhub.metrics.ngrams import ngram_list
from rewardhub.text import tokenize

texts = st.lists(st.lists(st.sampled_from("abc"), max_size=8).map(" ".join), max_size=10)


def corpus_distinct(token_lists: list[list[str]], n: int) -> float:
    grams = [g for tokens in token_lists for g in ngram_list(tokens, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def response_distinct(tokens: list[str], n: int) -> float:
    grams = ngram_list(tokens, n)
    return len(set(grams)) / len(grams) if grams else 0.0


@settings(max_examples=200, deadline=None)
@given(texts)
def test_corpus_distinct_matches_reference(responses):
    token_lists = [r.split() for r in responses]
    got = Distinct(tokenize="whitespace").compute(responses)
    assert got == pytest.approx({f"distinct_{n}": corpus_distinct(token_lists, n) for n in (1, 2, 3, 4)})


@settings(max_examples=200, deadline=None)
@given(texts)
def test_distinct_avg_matches_reference(responses):
    token_lists = [r.split() for r in responses]
    expected = {
        f"distinct_avg_{n}": sum(response_distinct(t, n) for t in token_lists) / max(len(token_lists), 1)
        for n in (1, 2, 3, 4)
    }
    assert DistinctAverage(tokenize="whitespace").compute(responses) == pytest.approx(expected)


def test_corpus_and_average_differ_when_responses_repeat_each_other():
    responses = ["the cat sat", "the cat sat", "the cat sat"]
    assert Distinct(n=2, tokenize="whitespace").compute(responses) == {"distinct_2": pytest.approx(2 / 6)}
    assert DistinctAverage(n=2, tokenize="whitespace").compute(responses) == {"distinct_avg_2": 1.0}


def test_empty_and_single_inputs_are_defined():
    assert Distinct().compute([]) == {f"distinct_{n}": 0.0 for n in (1, 2, 3, 4)}
    assert Distinct().compute([Sample("")]) == {f"distinct_{n}": 0.0 for n in (1, 2, 3, 4)}
    assert DistinctAverage().compute([]) == {f"distinct_avg_{n}": 0.0 for n in (1, 2, 3, 4)}
    assert Distinct(n=1).compute([Sample("hello there")]) == {"distinct_1": 1.0}


def test_chinese_counts_characters_with_auto():
    got = Distinct(n=[1, 2]).compute(["你好你好", "你好世界"])
    assert got == {"distinct_1": pytest.approx(4 / 8), "distinct_2": pytest.approx(4 / 6)}


def test_runs_by_name_with_run_wide_tokenizer_and_groups():
    samples = [Sample("a b", group=1), Sample("a b", group=1), Sample("c d", group=2)]
    results = compute_metrics(["distinct"], samples, by_group=True, tokenize="whitespace")
    assert results.values["distinct_1"] == pytest.approx(4 / 6)
    assert results.values["by_group/distinct_1"] == pytest.approx((2 / 4 + 1.0) / 2)
    assert not results.errors


@pytest.mark.realdata
def test_alignbench_chinese_questions_are_counted_per_character(realdata):
    rows = (realdata / "alignbench" / "questions_v1.1.jsonl").read_text(encoding="utf-8").splitlines()[:200]
    questions = [json.loads(row)["question"] for row in rows]
    token_lists = [tokenize(q) for q in questions]
    assert max(map(len, token_lists)) > 20  # not one token per question
    got = Distinct(n=[1, 2]).compute(questions)
    assert got == pytest.approx({f"distinct_{n}": corpus_distinct(token_lists, n) for n in (1, 2)})
