"""Evaluation: oracle 100 %, random at chance, resume without re-asking, failures counted."""

import csv
import json
import shutil
import subprocess
import sys

import pytest

from ponder.spatial.adapters import AnswerError, RandomAdapter, make_adapter
from ponder.spatial.cli import main
from ponder.spatial.evaluate import EvaluationError, evaluate, read_answers
from ponder.spatial.export import export_dataset


@pytest.fixture(scope="module")
def spatial_set(tmp_path_factory):
    """A generated set of 240 questions (2 or 4 options, circular copies in the TSV)."""
    folder = tmp_path_factory.mktemp("eval") / "set"
    export_dataset(folder, 240, seed=11, questions_per_scene=6)
    return folder


class Recording:
    """Wraps an adapter, records the keys it is asked, and can fail after `fail_after` answers."""

    def __init__(self, inner, fail_after=None):
        self.inner, self.fail_after, self.asked = inner, fail_after, []

    def answer_batch(self, queries):
        for query in queries:
            if self.fail_after is not None and len(self.asked) >= self.fail_after:
                raise KeyboardInterrupt("interrupted")
            self.asked.append(query.key)
        return self.inner.answer_batch(queries)


def test_oracle_is_perfect_plain_and_circular(spatial_set, tmp_path):
    oracle = make_adapter("oracle", _options(spatial_set))
    report = evaluate(spatial_set, oracle, tmp_path / "o", "oracle", circular=True)
    overall = report.overall
    assert overall.n == overall.n_groups == 240
    assert overall.n_rows > 240  # every rotated copy was asked
    assert overall.accuracy == overall.circular_accuracy == 1.0
    assert overall.n_failed == 0
    assert {s.level for s in report.scores} == {"overall", "benchmark", "type", "subtype"}
    tsv = evaluate(spatial_set / "questions.tsv", oracle, tmp_path / "t", "oracle", circular=True)
    assert tsv.overall.circular_accuracy == 1.0 and tsv.overall.n_rows == overall.n_rows
    scores = list(csv.DictReader((tmp_path / "o" / "scores.csv").open()))
    assert scores[0]["level"] == "overall" and float(scores[0]["circular_accuracy"]) == 1.0
    assert "| overall | all | 240 | 100.0 ± 0.0 |" in (tmp_path / "o" / "report.md").read_text()


def test_random_lands_at_chance_and_lower_under_circular(spatial_set, tmp_path):
    report = evaluate(spatial_set, RandomAdapter(3), tmp_path / "r", "random", circular=True)
    s = report.overall
    assert 0.3 < s.chance < 0.5 and s.circular_chance < 0.25  # 2 and 4 options mixed
    assert abs(s.accuracy - s.chance) < 3 * s.se
    assert abs(s.circular_accuracy - s.circular_chance) < 3 * s.circular_se + 0.01
    assert s.circular_accuracy < s.accuracy
    assert s.se == pytest.approx((s.accuracy * (1 - s.accuracy) / s.n) ** 0.5)
    assert s.circular_se == pytest.approx(
        (s.circular_accuracy * (1 - s.circular_accuracy) / s.n_groups) ** 0.5
    )


def test_resume_asks_only_the_remaining_questions(spatial_set, tmp_path):
    full = evaluate(spatial_set, RandomAdapter(5), tmp_path / "full", "random", circular=True)
    first = Recording(RandomAdapter(5), fail_after=37)
    with pytest.raises(KeyboardInterrupt):
        evaluate(spatial_set, first, tmp_path / "part", "random", circular=True, batch_size=8)
    saved = read_answers(tmp_path / "part" / "answers.jsonl")
    assert len(saved) == 32  # four whole batches of 8 were flushed before the interruption
    second = Recording(RandomAdapter(5))
    resumed = evaluate(spatial_set, second, tmp_path / "part", "random", circular=True)
    assert not set(second.asked) & set(saved)
    assert len(second.asked) + len(saved) == full.overall.n_rows == resumed.overall.n_rows
    assert resumed.n_asked == len(second.asked)
    assert resumed.scores == full.scores
    third = Recording(RandomAdapter(5))
    again = evaluate(spatial_set, third, tmp_path / "part", "random", circular=True)
    assert third.asked == [] and again.n_asked == 0 and again.scores == full.scores


def test_cache_of_another_model_or_prompt_is_refused(spatial_set, tmp_path):
    evaluate(spatial_set, RandomAdapter(), tmp_path / "c", "random", limit=3)
    with pytest.raises(EvaluationError, match="random"):
        evaluate(spatial_set, RandomAdapter(), tmp_path / "c", "other-model", limit=3)
    with pytest.raises(EvaluationError, match="prompt"):
        evaluate(spatial_set, RandomAdapter(), tmp_path / "c", "random", "spatialthinker")
    with pytest.raises(EvaluationError, match="unknown prompt 'nope'"):
        evaluate(spatial_set, RandomAdapter(), tmp_path / "d", "random", "nope")


class Scripted:
    """Empty text for the first question, an adapter error for the second, else the oracle."""

    def __init__(self, oracle):
        self.oracle, self.calls = oracle, 0

    def answer_batch(self, queries):
        answers = self.oracle.answer_batch(queries)
        for i, query in enumerate(queries):
            self.calls += 1
            if query.key == "0":
                answers[i] = "   "
            elif query.key == "1":
                answers[i] = AnswerError("HTTP 400: image too large")
            elif query.key == "2":
                answers[i] = "I cannot tell."
        return answers


def test_failures_are_counted_wrong_and_listed(spatial_set, tmp_path):
    data = tmp_path / "set"
    shutil.copytree(spatial_set, data)
    questions = [json.loads(line) for line in (data / "questions.jsonl").open()]
    lost = questions[9]["image_path"]
    (data / lost).unlink()
    n_lost = sum(q["image_path"] == lost for q in questions[:10])
    adapter = Scripted(make_adapter("oracle", _options(data)))
    report = evaluate(data, adapter, tmp_path / "f", "scripted", limit=10)
    status = {r.item.key: r.status for r in report.results}
    assert status["0"] == "empty_output" and status["1"] == "error" and status["2"] == "no_answer"
    assert sum(s == "bad_item" for s in status.values()) == n_lost >= 1
    assert report.overall.n == 10 and report.overall.n_failed == 3 + n_lost
    assert report.overall.correct == 10 - 3 - n_lost
    text = (tmp_path / "f" / "report.md").read_text()
    assert "HTTP 400: image too large" in text and "missing image" in text and lost in text
    rows = list(csv.DictReader((tmp_path / "f" / "predictions.csv").open()))
    assert len(rows) == 10 and {r["status"] for r in rows} >= {"error", "bad_item", "ok"}
    calls = adapter.calls
    evaluate(data, adapter, tmp_path / "f", "scripted", limit=10)
    assert adapter.calls == calls + 1  # only the failed request is asked again


def test_cli_eval_prints_scores_and_names_bad_models(spatial_set, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["eval", str(spatial_set), "--model", "oracle", "--circular", "--limit", "20"]
    assert main([*args, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "plain 100.0 ± 0.0 % over 20 questions" in printed and "circular 100.0" in printed
    assert (out / "report.md").is_file() and (out / "scores.csv").is_file()
    assert main(["eval", str(spatial_set), "--model", "gpt9:x", "--out", str(out)]) == 1
    assert "unknown model 'gpt9:x'" in capsys.readouterr().err
    assert main(["eval", str(tmp_path / "none.tsv"), "--model", "random"]) == 1
    assert "none.tsv" in capsys.readouterr().err


def test_eval_cli_imports_no_transformers_or_lightning(spatial_set, tmp_path):
    code = (
        "import sys\n"
        "from ponder.spatial.cli import main\n"
        f"assert main(['eval', {str(spatial_set)!r}, '--model', 'random', '--limit', '5',"
        f" '--out', {str(tmp_path / 'imp')!r}]) == 0\n"
        "heavy = ('transformers', 'lightning', 'pytorch_lightning')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _options(folder):
    from ponder.spatial.adapters import AdapterOptions

    return AdapterOptions(data_path=str(folder))
