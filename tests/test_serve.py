"""``rewardhub serve`` as a real subprocess on a free port, spoken to over HTTP: every protocol,
the refusals (401, 413, 400/422, 503 + Retry-After, 504), metrics, dynamic batching and the
drain on SIGTERM. The fuzz test lives in ``tests/test_serve_fuzz.py``."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

import pytest
from click.testing import CliRunner

from rewardhub.adapters import openrlhf
from rewardhub.cli import cli

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REWARDS = "token_entropy,repetition_penalty:0.5,diversity_bonus:0.25,failing"
REWARDS_KEYS = ("token_entropy", "repetition_penalty", "diversity_bonus", "failing")

ROWS = [
    {"prompt": "Name a colour.", "response": "Blue, like the sea and the sky.", "group": "g1", "id": "a"},
    {"prompt": "Name a colour.", "response": "Red red red red red.", "group": "g1", "id": "b"},
    {"prompt": "Name a colour.", "response": "Blue, like the sea and the sky.", "group": "g1", "id": "c"},
    {"prompt": "Say hi.", "response": "this will fail", "reference": "hi", "id": "d"},
    {"prompt": [{"role": "user", "content": "Say hi."}], "response": "Hi there!", "topic": "greeting", "id": "e"},
]


@pytest.fixture(scope="module")
def server(serve_process):
    return serve_process(["--rewards", REWARDS, "--token", TOKEN, "--max-body-mb", "0.05"])


def post(server, path: str, body, headers=AUTH, **kwargs) -> httpx.Response:
    return httpx.post(server.url + path, json=body, headers=headers, timeout=30, **kwargs)


def metric(server, name: str, **labels: str) -> float:
    return server.metric(name, TOKEN, **labels)


# -- protocols ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_native_rows_equal_what_eval_writes(server, tmp_path, serve_testing_plugin):
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "scored.jsonl"
    result = CliRunner().invoke(cli, ["eval", str(data), "--rewards", REWARDS, "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    written = [json.loads(line) for line in out.read_text().splitlines()]

    response = post(server, "/v1/score", {"samples": ROWS})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(ROWS)
    for got, row in zip(results, written):
        assert got["id"] == row["id"]
        assert got["rewards"] == pytest.approx(row["rewards"])
        assert got["reward"] == pytest.approx(row["reward"])
        assert got["errors"] == row["errors"]
        assert got.get("reward_info") == row.get("reward_info")
    failed = results[3]
    assert failed["rewards"]["failing"] is None and "refused on purpose" in failed["errors"]["failing"]


def test_native_subset_of_rewards_has_its_own_total(server):
    response = post(server, "/v1/score", {"samples": ROWS[:2], "rewards": ["token_entropy", "repetition_penalty"]})
    assert response.status_code == 200, response.text
    for row in response.json()["results"]:
        assert set(row["rewards"]) == {"token_entropy", "repetition_penalty"}
        assert row["reward"] == pytest.approx(
            row["rewards"]["token_entropy"] + 0.5 * row["rewards"]["repetition_penalty"]
        )


def test_openrlhf_get_reward_equals_the_in_process_adapter(server, monkeypatch, serve_testing_plugin):
    prompts = ["<|im_start|>user\nCount.<|im_end|>\n<|im_start|>assistant\n"] * 2 + ["unrelated prompt"]
    queries = [prompts[0] + "one two three<|im_end|>", prompts[1] + "fail fail fail<|im_end|>", "nothing to find"]
    body = {"query": queries, "prompts": prompts, "labels": ["3", "3", None]}
    response = post(server, "/get_reward", body)
    assert response.status_code == 200, response.text
    got = response.json()
    monkeypatch.setenv("REWARDHUB_CONFIG", REWARDS)
    monkeypatch.delenv("REWARDHUB_URL", raising=False)
    local = openrlhf.reward_func(queries, prompts, ["3", "3", None])
    assert got["rewards"] == pytest.approx([float(v) for v in local["rewards"]])
    assert got["scores"] == got["rewards"]
    assert set(got["extra_logs"]) == {*REWARDS_KEYS, "rewardhub_missing"}
    assert got["extra_logs"]["rewardhub_missing"] == [0.0, 1.0, 4.0]  # failing failed; prompt not found


def test_slime_remote_rm_answers_a_dict_with_score(server):
    body = {"prompt": "Name a colour.", "response": "Blue, like the sea and the sky.", "label": "blue"}
    got = post(server, "/slime", body).json()
    native = post(server, "/v1/score", {"samples": [{**body, "reference": "blue"}]}).json()["results"][0]
    assert got["score"] == pytest.approx(native["reward"])
    assert got["token_entropy"] == pytest.approx(native["rewards"]["token_entropy"])
    assert got["rewardhub_missing"] == sum(v is None for v in native["rewards"].values())
    assert set(got) == {"score", *native["rewards"], "rewardhub_missing"}


def test_nemo_gym_verify_echoes_the_request_with_reward(server):
    body = {
        "responses_create_params": {"input": [{"role": "user", "content": "Say something that will fail."}]},
        "response": {
            "id": "resp_1",
            "output": [
                {"type": "reasoning", "summary": []},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "I fail."}]},
            ],
        },
        "expected_answer": "anything",
    }
    response = post(server, "/verify", body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["response"] == body["response"] and got["expected_answer"] == "anything"
    assert isinstance(got["reward"], float)
    assert got["reward_components"]["failing"] == 0.0 and got["reward_components"]["rewardhub_missing"] >= 1
    assert "failing: ValueError: refused on purpose" in got["failure_reason"]
    assert post(server, "/seed_session", {}).json() == {}


def test_health_rewards_and_metrics(server):
    health = httpx.get(server.url + "/health", timeout=10)  # open: probes carry no token
    assert health.status_code == 200 and health.json()["status"] == "ok"
    listing = httpx.get(server.url + "/v1/rewards", headers=AUTH, timeout=10).json()
    by_key = {r["key"]: r for r in listing["rewards"]}
    assert by_key["repetition_penalty"]["weight"] == 0.5 and by_key["repetition_penalty"]["version"] == "1"
    assert by_key["diversity_bonus"]["group_aware"] is True
    post(server, "/v1/score", {"samples": [{"response": "counted"}]})
    text = httpx.get(server.url + "/metrics", headers=AUTH, timeout=10).text
    for name in (
        "rewardhub_requests_total",
        "rewardhub_samples_total",
        "rewardhub_batch_size_bucket",
        "rewardhub_queue_depth",
        "rewardhub_request_seconds_bucket",
        "rewardhub_reward_errors_total",
    ):
        assert name in text, name


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}, {"Authorization": TOKEN}],
)
def test_401_without_the_right_token(server, headers):
    response = post(server, "/v1/score", {"samples": ROWS[:1]}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert httpx.get(server.url + "/metrics", headers=headers, timeout=10).status_code == 401


def test_413_from_the_declared_length_before_the_body_is_sent(server):
    """The headers promise 1 GB and no body follows: the answer comes anyway, at once."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as conn:
        conn.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {TOKEN}\r\nContent-Length: 1000000000\r\n\r\n".encode()
        )
        head = conn.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413"), head


def test_413_for_a_chunked_body_past_the_limit(server):
    def chunks():
        yield b'{"samples": ['
        for _ in range(200):
            yield json.dumps({"response": "x" * 1000}).encode() + b","
        yield b'{"response": "y"}]}'

    response = httpx.post(server.url + "/v1/score", content=chunks(), headers=AUTH, timeout=30)
    assert response.status_code == 413 and "limit" in response.json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "status", "names"),
    [
        ("/v1/score", b"{not json", 400, "body: invalid JSON"),
        ("/v1/score", b'{"samples": [{"response": NaN}]}', 400, "NaN"),
        ("/v1/score", b"[" * 20000 + b"]" * 20000, 400, "body"),
        ("/v1/score", b'{"samples": [{"response": 1' + b"0" * 5000 + b"}]}", 400, "body"),
        ("/v1/score", b'{"sample": []}', 422, "samples: required"),
        ("/v1/score", b'{"samples": [{"prompt": "p", "response": 3}]}', 422, "samples[0].response"),
        ("/v1/score", b'{"samples": [{"response": "r", "group": {"a": 1}}]}', 422, "samples[0].group"),
        ("/v1/score", b'{"samples": [{"response": "r"}], "rewards": ["nope"]}', 422, "rewards[0]"),
        ("/get_reward", b'{"query": ["q"]}', 422, "prompts"),
        ("/get_reward", b'{"query": ["q", 1], "prompts": ["q", "q"]}', 422, "query[1]"),
        ("/get_reward", b'{"query": ["q"], "prompts": ["q"], "labels": [1, 2]}', 422, "labels"),
        ("/slime", b'{"prompt": "p"}', 422, "response"),
        ("/verify", b'{"response": {"output": []}}', 422, "responses_create_params"),
        ("/v1/score", b"", 422, "body"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(server, path, body, status, names):
    response = httpx.post(server.url + path, content=body, headers=AUTH, timeout=30)
    assert response.status_code == status, response.text
    assert names in response.json()["error"]


# -- batching, the full queue, deadlines, drain ------------------------------------------------


@pytest.mark.slow
def test_batches_form_under_load_and_a_full_queue_answers_503_with_retry_after(serve_process, sleepy_config):
    server = serve_process(["--config", sleepy_config(0.5), "--max-queue", "6", "--max-batch", "64"])
    statuses: list[int] = []
    retry_after: list[str] = []

    def one(i: int) -> None:
        response = httpx.post(server.url + "/v1/score", json={"samples": [{"response": f"r{i}"}]}, timeout=60)
        statuses.append(response.status_code)
        if response.status_code == 503:
            retry_after.append(response.headers["retry-after"])
        else:
            assert response.json()["results"][0]["rewards"]["sleepy"] == len(f"r{i}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert set(statuses) == {200, 503}, statuses
    assert all(int(value) >= 1 for value in retry_after)
    scored = statuses.count(200)
    assert metric(server, "rewardhub_batch_size_count") < scored  # several requests per batch
    assert metric(server, "rewardhub_requests_total", endpoint="/v1/score", status="503") == statuses.count(503)


@pytest.mark.slow
def test_deadline_header_gives_504_and_a_larger_request_than_the_queue_413(serve_process, sleepy_config):
    server = serve_process(["--config", sleepy_config(1.0), "--max-queue", "3"])
    response = httpx.post(
        server.url + "/v1/score",
        json={"samples": [{"response": "slow"}]},
        headers={"X-Rewardhub-Deadline": "0.2"},
        timeout=30,
    )
    assert response.status_code == 504 and "deadline" in response.json()["error"]
    bad = httpx.post(server.url + "/v1/score", json={"samples": []}, headers={"X-Rewardhub-Deadline": "-1"})
    assert bad.status_code == 400 and "X-Rewardhub-Deadline" in bad.json()["error"]
    big = httpx.post(server.url + "/v1/score", json={"samples": [{"response": "x"}] * 4}, timeout=30)
    assert big.status_code == 413 and "at most 3" in big.json()["error"]


@pytest.mark.slow
def test_health_waits_for_the_models_and_sigterm_drains_the_request_in_flight(serve_process, sleepy_config):
    server = serve_process(["--config", sleepy_config(1.5)], ready=False)
    for _ in range(1200):  # the first answer comes while the warm-up call loads the rewards
        try:
            first = httpx.get(server.url + "/health", timeout=5)
            break
        except httpx.TransportError:
            time.sleep(0.05)
    assert first.status_code == 503 and "loading" in first.json()["error"]
    server.wait_ready()
    answers: list[httpx.Response] = []
    worker = threading.Thread(
        target=lambda: answers.append(
            httpx.post(server.url + "/v1/score", json={"samples": [{"response": "in flight"}]}, timeout=60)
        )
    )
    worker.start()
    for _ in range(100):  # until the batch is being scored
        if metric(server, "rewardhub_batch_size_count") >= 1:
            break
        time.sleep(0.05)
    server.proc.send_signal(signal.SIGTERM)
    worker.join(60)
    assert answers and answers[0].status_code == 200
    assert answers[0].json()["results"][0]["rewards"]["sleepy"] == len("in flight")
    assert server.proc.wait(30) in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once drained
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=2)


def test_a_config_error_is_one_line_and_exit_2():
    result = CliRunner().invoke(cli, ["serve", "--rewards", "no_such_reward"])
    assert result.exit_code == 2
    assert result.output.startswith("rewardhub: error:") and "no_such_reward" in result.output


def test_empty_rewards_is_the_same_config_error_as_in_eval():
    result = CliRunner().invoke(cli, ["serve", "--rewards", ""])
    assert result.exit_code == 2 and "--rewards is empty" in result.output


def test_refuses_to_listen_beyond_localhost_without_a_token():
    result = CliRunner().invoke(cli, ["serve", "--rewards", "token_entropy", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "refusing to listen on 0.0.0.0 without a token" in result.output
