"""``rewardhub serve --run-dir DIR --record-every N``: a real server on a free port records what
32 concurrent clients score through every endpoint (a step per N samples, the rest as a last step
at shutdown), its ``/dashboard`` reads the same records under the server's token, and a
group-normalized ``aggregation`` puts each request's advantages in the answers."""

from __future__ import annotations

import json
import signal
import threading

import pytest

from rewardhub import Sample, Scorer

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

TOKEN = "telemetry-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RECORD_EVERY = 16
CLIENTS = 32
CONFIG = "rewards:\n  - token_entropy\n  - {name: repetition_penalty, weight: 0.5}\naggregation: gdpo\n"

NATIVE = {  # 4 samples, 2 groups
    "samples": [
        {"prompt": "Name a colour.", "response": "Blue, like the sea and the sky.", "group": "g1"},
        {"prompt": "Name a colour.", "response": "Red red red red red.", "group": "g1"},
        {"prompt": "Say hi.", "response": "Hi there, how are you?", "group": "g2"},
        {"prompt": "Say hi.", "response": "hi hi hi hi hi hi", "group": "g2"},
    ]
}
GET_REWARD = {  # 2 queries of one prompt
    "query": ["Q: count <|im_end|>one two three<|im_end|>", "Q: count <|im_end|>one one one one<|im_end|>"],
    "prompts": ["Q: count <|im_end|>", "Q: count <|im_end|>"],
}
SLIME = {"prompt": "Say hi.", "response": "Hello, friend.", "label": "hi"}
VERIFY = {
    "responses_create_params": {"input": "Say hi."},
    "response": {"output": [{"type": "message", "role": "assistant", "content": [{"text": "Hey there!"}]}]},
}
# (path, body, samples it carries); each client sends all four once: 8 samples per client
REQUESTS = [("/v1/score", NATIVE, 4), ("/get_reward", GET_REWARD, 2), ("/slime", SLIME, 1), ("/verify", VERIFY, 1)]
PER_CLIENT = sum(n for _, _, n in REQUESTS)


@pytest.fixture(scope="module")
def recorded(serve_process, tmp_path_factory):
    """The server, its run directory, and what the clients got back; every client done."""
    root = tmp_path_factory.mktemp("serve-telemetry")
    config = root / "rewards.yaml"
    config.write_text(CONFIG)
    run_dir = root / "run"
    server = serve_process(
        ["--config", str(config), "--token", TOKEN, "--run-dir", str(run_dir), "--record-every", str(RECORD_EVERY)]
    )
    answers: dict[str, list] = {path: [] for path, _, _ in REQUESTS}
    failures: list[str] = []
    lock = threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(timeout=60) as http:
            for path, body, _ in REQUESTS[number % 4 :] + REQUESTS[: number % 4]:  # mixed order
                response = http.post(server.url + path, json=body, headers=AUTH)
                with lock:
                    if response.status_code != 200:
                        failures.append(f"{path}: {response.status_code} {response.text}")
                    else:
                        answers[path].append(response.json())

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    return server, run_dir, answers


def _steps(run_dir) -> list[dict]:
    path = run_dir / "steps.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def _wait_for(condition, timeout: float = 60.0):
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    return condition()


@pytest.mark.slow
def test_a_step_per_n_samples_and_the_dashboard_reads_them(recorded):
    server, run_dir, _ = recorded
    total = CLIENTS * PER_CLIENT  # 256
    full = total // RECORD_EVERY
    steps = _wait_for(lambda: (s := _steps(run_dir)) and len(s) >= full and s)
    assert len(steps) == full
    assert all(s["n"] == RECORD_EVERY for s in steps)
    assert sum(s["n"] for s in steps) == total
    assert sorted(s["step"] for s in steps) == list(range(1, full + 1))
    for step in steps:
        assert step["source"] == "serve"
        assert set(step["rewards"]) == {"token_entropy", "repetition_penalty"}
        for stats in step["rewards"].values():
            assert stats["n"] + stats["missing"] == RECORD_EVERY
            assert stats["min"] <= stats["mean"] <= stats["max"]
        assert step["advantage"]["source"] == "rewardhub gdpo"
    assert (run_dir / steps[0]["samples"]).exists()

    seen = httpx.get(server.url + "/dashboard/api/steps", headers=AUTH, timeout=30)
    assert seen.status_code == 200
    assert [s["step"] for s in seen.json()["steps"]] == [s["step"] for s in steps]
    assert sum(s["n"] for s in seen.json()["steps"]) == total
    assert httpx.get(server.url + "/dashboard/api/steps", timeout=30).status_code == 401
    page = httpx.get(server.url + "/dashboard/?token=" + TOKEN, timeout=30)
    assert page.status_code == 200 and "plotly" in page.text.lower()


@pytest.mark.slow
def test_answers_carry_each_requests_own_advantages(recorded):
    _, _, answers = recorded
    scorer = Scorer(["token_entropy", "repetition_penalty:0.5"], aggregation="gdpo")
    expected = scorer.score([Sample(**row) for row in NATIVE["samples"]]).advantages
    for answer in answers["/v1/score"]:  # the same in every answer, whatever flush it rode in
        assert [row["advantage"] for row in answer["results"]] == pytest.approx(expected, abs=1e-9)
    for answer in answers["/get_reward"]:
        assert answer["rewards"] == answer["scores"]  # the total, as OpenRLHF reads it
        assert len(answer["advantages"]) == 2 and all(isinstance(a, float) for a in answer["advantages"])
        assert answer["advantages"][0] == pytest.approx(-answer["advantages"][1])
    assert all(answer["advantage"] is None for answer in answers["/slime"])  # one sample: nothing to compare


@pytest.mark.slow
def test_the_rest_is_recorded_at_shutdown(serve_process, tmp_path):
    config = tmp_path / "rewards.yaml"
    config.write_text(CONFIG)
    run_dir = tmp_path / "run"
    server = serve_process(["--config", str(config), "--run-dir", str(run_dir), "--record-every", "3"])
    for _ in range(2):
        assert httpx.post(server.url + "/v1/score", json=NATIVE, timeout=30).status_code == 200  # 8 samples
    assert server.stop() in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM once drained
    steps = _steps(run_dir)
    assert [s["n"] for s in steps] == [3, 3, 2]
