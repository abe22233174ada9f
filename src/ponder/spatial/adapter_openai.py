"""`openai:URL`: any OpenAI-compatible chat-completions endpoint (vLLM, SGLang, ...).

Standard library only. The image goes as a base64 data URL; generation is greedy
(temperature 0). Requests of one batch run concurrently. A request that fails with a
connection error, a timeout, HTTP 429 or 5xx is retried with doubling waits; when the server
stays unreachable the adapter raises `AdapterError` naming the URL (answers so far are kept
on disk by the evaluator); other HTTP errors and malformed replies fail that question only.
An API key is sent when the environment variable OPENAI_API_KEY is set.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ponder.spatial.adapter_base import AdapterError, AdapterOptions, AnswerError, Query

RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class _Unreachable(Exception):
    pass


def image_data_url(path: str | Path) -> str:
    mime = mimetypes.guess_type(str(path))[0] or "image/png"
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def chat_completions_url(base_url: str) -> str:
    """`http://host:8000/v1` -> `http://host:8000/v1/chat/completions` (a full URL is kept)."""
    base = base_url.rstrip("/")
    return base if base.endswith("/chat/completions") else base + "/chat/completions"


class OpenAIAdapter:
    def __init__(self, base_url: str, model_name: str, options: AdapterOptions):
        if not base_url.startswith(("http://", "https://")):
            raise AdapterError(f"openai endpoint must be an http(s) URL, got {base_url!r}")
        if not model_name:
            raise AdapterError("openai: --model-name is required (the name the server serves)")
        self.url = chat_completions_url(base_url)
        self.model_name = model_name
        self.options = options

    @classmethod
    def from_spec(cls, argument: str, options: AdapterOptions) -> OpenAIAdapter:
        return cls(argument, options.model_name, options)

    def request_body(self, query: Query) -> dict:
        return {
            "model": self.model_name,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image_url",
                            "image_url": {"url": image_data_url(query.image_path)},
                        },
                        {"type": "text", "text": query.prompt},
                    ],
                }
            ],
            "max_tokens": self.options.max_new_tokens,
            "temperature": 0.0,
        }

    def _post(self, body: bytes) -> dict:
        headers = {"Content-Type": "application/json"}
        if os.environ.get("OPENAI_API_KEY"):
            headers["Authorization"] = "Bearer " + os.environ["OPENAI_API_KEY"]
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.options.timeout_s) as response:
            return json.loads(response.read().decode("utf-8"))

    def _answer_one(self, query: Query) -> str | AnswerError | _Unreachable:
        body = json.dumps(self.request_body(query)).encode("utf-8")
        last = ""
        for attempt in range(self.options.retries + 1):
            if attempt:
                time.sleep(self.options.backoff_s * 2 ** (attempt - 1))
            try:
                reply = self._post(body)
            except urllib.error.HTTPError as error:
                detail = error.read()[:300].decode("utf-8", "replace")
                last = f"HTTP {error.code} from {self.url}: {detail}"
                if error.code not in RETRY_STATUS:
                    return AnswerError(last)
                continue
            except (TimeoutError, urllib.error.URLError, ConnectionError) as error:
                reason = getattr(error, "reason", error)
                last = f"cannot reach {self.url}: {reason}"
                continue
            except json.JSONDecodeError as error:
                return AnswerError(f"{self.url} replied with invalid JSON: {error}")
            try:
                content = reply["choices"][0]["message"]["content"]
            except (KeyError, IndexError, TypeError):
                return AnswerError(f"{self.url} replied without choices[0].message.content")
            return content if isinstance(content, str) else ""
        if last.startswith("HTTP"):
            return AnswerError(f"{last} (after {self.options.retries + 1} attempts)")
        return _Unreachable(f"{last} (after {self.options.retries + 1} attempts)")

    def answer_batch(self, queries: list[Query]) -> list[str | AnswerError]:
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(queries)))) as pool:
            results = list(pool.map(self._answer_one, queries))
        for result in results:
            if isinstance(result, _Unreachable):
                raise AdapterError(str(result))
        return results  # type: ignore[return-value]
