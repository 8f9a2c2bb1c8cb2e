"""Fuzzed bodies against the real server: client input never gets a 5xx (other than 503/504,
which say "try later", not "the server broke"). JSON that looks like each protocol's shape,
arbitrary JSON, and arbitrary bytes, on every POST endpoint."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

pytest.importorskip("starlette")
httpx = pytest.importorskip("httpx")

PATHS = ["/v1/score", "/get_reward", "/slime", "/verify"]

text = st.text(max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4))
roles = st.sampled_from(["user", "assistant", "system"]) | anything
message = st.fixed_dictionaries({"role": roles, "content": anything})
row = st.dictionaries(
    st.sampled_from(["prompt", "response", "completion", "reference", "group", "id", "images", "history", "messages"])
    | text,
    anything | text | st.lists(message, max_size=3),
    max_size=6,
)
shaped = (
    st.fixed_dictionaries({"samples": st.lists(row, max_size=4)}, optional={"rewards": anything})
    | st.fixed_dictionaries(
        {"query": st.lists(text | anything, max_size=3)},
        optional={"prompts": st.lists(text | anything, max_size=3), "labels": anything},
    )
    | st.fixed_dictionaries({"response": text | anything}, optional={"prompt": anything, "label": anything})
    | st.fixed_dictionaries(
        {"responses_create_params": st.fixed_dictionaries({"input": text | st.lists(message, max_size=3) | anything})},
        optional={"response": st.fixed_dictionaries({"output": anything}) | anything, "expected_answer": anything},
    )
)
bodies = shaped.map(lambda b: json.dumps(b).encode()) | anything.map(lambda b: json.dumps(b).encode()) | st.binary()


@pytest.fixture(scope="module")
def server(serve_process):
    return serve_process(["--rewards", "token_entropy,repetition_penalty,diversity_bonus"])


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), body=bodies)
@example(path="/v1/score", body=b'{"samples": [{"prompt": "\\udfff", "response": "\\ud800", "group": "\\ud800"}]}')
@example(path="/get_reward", body=b'{"query": ["\\ud800x"], "prompts": ["\\ud800"], "labels": [{"a": []}]}')
def test_no_5xx_on_client_input(client, path, body):
    response = client.post(path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code < 500 or response.status_code in (503, 504), (response.status_code, response.text)
    assert isinstance(response.json(), dict)  # every answer, refusals included, is a JSON object
