"""Adapters: an OpenAI-compatible stub server on 127.0.0.1, retries, unreachable endpoints,
the random and oracle adapters, and the hf: adapter on a tiny random Qwen2-VL."""

import base64
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from ponder.spatial.adapters import (
    AdapterError,
    AdapterOptions,
    AnswerError,
    Query,
    RandomAdapter,
    make_adapter,
)
from ponder.spatial.cli import main
from ponder.spatial.evaluate import evaluate
from ponder.spatial.export import export_dataset


class Stub:
    """Chat-completions stub: answers '(B)' unless `failures` lists status codes to send first."""

    def __init__(self, failures=()):
        self.failures, self.requests = list(failures), []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                stub.requests.append((self.path, body))
                if stub.failures:
                    self.send_response(stub.failures.pop(0))
                    self.end_headers()
                    self.wfile.write(b"busy")
                    return
                reply = {"choices": [{"message": {"role": "assistant", "content": "(B) no"}}]}
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    server = Stub()
    yield server
    server.close()


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "scene.png"
    Image.new("RGB", (32, 24), (10, 120, 30)).save(path)
    return path


def fast(**changes):
    settings = {"model_name": "qwen-vl", "timeout_s": 5, "retries": 2, "backoff_s": 0.01}
    return AdapterOptions(**(settings | changes))


def query(image, key="k1"):
    return Query(key, "Is it near?\n(A) yes\n(B) no", ("yes", "no"), str(image), "Is it near?")


def test_openai_sends_image_as_data_url_and_returns_text(stub, image):
    adapter = make_adapter(f"openai:{stub.url}", fast(max_new_tokens=64))
    assert adapter.answer_batch([query(image, "a"), query(image, "b")]) == ["(B) no", "(B) no"]
    path, body = stub.requests[0]
    assert path == "/v1/chat/completions"
    assert body["model"] == "qwen-vl" and body["max_tokens"] == 64 and body["temperature"] == 0
    image_part, text_part = body["messages"][0]["content"]
    prefix = "data:image/png;base64,"
    assert image_part["image_url"]["url"].startswith(prefix)
    assert base64.b64decode(image_part["image_url"]["url"][len(prefix) :]) == image.read_bytes()
    assert text_part == {"type": "text", "text": "Is it near?\n(A) yes\n(B) no"}


def test_openai_retries_busy_server_and_fails_one_question_on_client_errors(image):
    busy = Stub(failures=[503, 503])
    try:
        assert make_adapter(f"openai:{busy.url}", fast()).answer_batch([query(image)]) == ["(B) no"]
        assert len(busy.requests) == 3
        busy.failures = [400]
        (answer,) = make_adapter(f"openai:{busy.url}", fast()).answer_batch([query(image)])
        assert isinstance(answer, AnswerError) and "HTTP 400" in answer.message
        busy.failures = [500, 500, 500]
        (answer,) = make_adapter(f"openai:{busy.url}", fast()).answer_batch([query(image)])
        assert isinstance(answer, AnswerError) and "after 3 attempts" in answer.message
    finally:
        busy.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_endpoint_is_a_clear_error_naming_the_url(tmp_path, image, capsys):
    url = f"http://127.0.0.1:{free_port()}/v1"
    adapter = make_adapter(f"openai:{url}", fast(retries=1))
    with pytest.raises(AdapterError, match=f"cannot reach {url}/chat/completions"):
        adapter.answer_batch([query(image)])
    data = tmp_path / "set"
    export_dataset(data, 3, seed=1)
    args = ["eval", str(data), "--model", f"openai:{url}", "--model-name", "m", "--retries", "0"]
    assert main([*args, "--out", str(tmp_path / "o")]) == 1
    assert f"cannot reach {url}/chat/completions" in capsys.readouterr().err
    with pytest.raises(AdapterError, match="--model-name is required"):
        make_adapter(f"openai:{url}")
    with pytest.raises(AdapterError, match="must be an http"):
        make_adapter("openai:localhost:8000", fast())


def test_openai_adapter_in_an_evaluation(stub, tmp_path):
    data = tmp_path / "set"
    export_dataset(data, 6, seed=2)
    adapter = make_adapter(f"openai:{stub.url}", fast())
    report = evaluate(data, adapter, tmp_path / "o", "openai", batch_size=4)
    assert len(stub.requests) == 6 and report.overall.n_failed == 0
    assert {r.predicted for r in report.results} == {"B"}


def test_random_adapter_is_seeded_per_key_and_prefixes_are_checked(image):
    queries = [query(image, str(k)) for k in range(50)]
    first = RandomAdapter(1).answer_batch(queries)
    assert first == RandomAdapter(1).answer_batch(queries[:25]) + RandomAdapter(1).answer_batch(
        queries[25:]
    )
    assert first != RandomAdapter(2).answer_batch(queries)
    with pytest.raises(AdapterError, match="unknown model 'gpt:x'"):
        make_adapter("gpt:x")
    with pytest.raises(AdapterError, match="needs a path"):
        make_adapter("hf:")
    with pytest.raises(AdapterError, match=r"scenes\.jsonl and questions\.jsonl"):
        make_adapter("oracle", AdapterOptions(data_path=str(image)))


def test_hf_adapter_on_a_tiny_qwen2_vl(tmp_path, image):
    pytest.importorskip("transformers")
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny models run far faster on one thread than on busy cores
    try:
        _check_tiny_hf_adapter(tmp_path, image)
    finally:
        torch.set_num_threads(threads)


def _check_tiny_hf_adapter(tmp_path, image):
    from ponder.spatial.tiny_models import save_tiny_qwen2_vl

    folder = save_tiny_qwen2_vl(tmp_path / "tiny")
    adapter = make_adapter(f"hf:{folder}", AdapterOptions(max_new_tokens=6, device="cpu"))
    queries = [query(image, "a"), query(image, "b"), query(image, "c")]
    answers = adapter.answer_batch(queries)
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)
    assert answers == adapter.answer_batch(queries)  # greedy: the same text again
    with pytest.raises(AdapterError, match="cannot load hf model"):
        make_adapter(f"hf:{tmp_path / 'missing'}")
