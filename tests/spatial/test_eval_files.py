"""Benchmark files: VLMEvalKit TSVs with base64 images, 3DSRBench copies, malformed rows."""

import base64
import io
import re

import pytest
from PIL import Image

from ponder.spatial.adapters import answer_text
from ponder.spatial.benchmark_files import BenchmarkFormatError, load_items
from ponder.spatial.evaluate import evaluate

COLUMNS = ["index", "question", "A", "B", "C", "D", "answer", "category", "l2-category", "qid"]


def png_base64(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def write_tsv(path, rows, columns=COLUMNS):
    lines = ["\t".join(columns)] + ["\t".join(str(r.get(c, "")) for c in columns) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def srbench_rows():
    """One 2-option question in 3DSRBench's layout: the original, its rotation, a flipped
    image and the flip's rotation; the images of the copies refer to the first row's index."""
    base = {"question": "Is the cup left of the plate?", "category": "orientation_on_the_left"}
    base["l2-category"] = "orientation"
    return [
        {**base, "index": 1, "A": "yes", "B": "no", "answer": "A", "qid": "a1b2c3d4"},
        {**base, "index": 2, "A": "no", "B": "yes", "answer": "B", "qid": "a1b2c3d4-1"},
        {**base, "index": 3, "A": "yes", "B": "no", "answer": "B", "qid": "a1b2c3d4-flip"},
        {**base, "index": 4, "A": "no", "B": "yes", "answer": "A", "qid": "a1b2c3d4-flip-1"},
        {**base, "index": 5, "A": "red", "B": "blue", "C": "green", "answer": "C",
         "qid": "e5f6a7b8", "category": "height_higher", "l2-category": "height"},
    ]  # fmt: skip


def test_3dsrbench_tsv_with_base64_images_and_copies(tmp_path):
    rows = srbench_rows()
    rows[0]["image"] = png_base64((200, 0, 0))
    rows[1]["image"] = rows[2]["image"] = rows[3]["image"] = "1"  # references to row 1
    rows[4]["image"] = png_base64((0, 0, 200))
    tsv = write_tsv(tmp_path / "3dsr.tsv", rows, [*COLUMNS, "image"])
    items = load_items(tsv, tmp_path / "images")
    assert [i.group for i in items] == ["a1b2c3d4"] * 4 + ["e5f6a7b8"]
    assert [i.copy for i in items] == [0, 1, 1, 1, 0]
    assert items[4].options == ("red", "blue", "green") and items[4].answer == "C"
    assert len({i.image_path for i in items[:4]}) == 1 and items[0].image_path.endswith(".png")
    assert len(list((tmp_path / "images").iterdir())) == 2  # each image written once
    assert Image.open(items[0].image_path).getpixel((0, 0)) == (200, 0, 0)

    class WrongOnFlips:
        def answer_batch(self, queries):
            answers = []
            for q in queries:
                item = next(i for i in items if i.key == q.key)
                letter = item.answer if "flip" not in item.qid else "AB"[item.answer == "A"]
                answers.append(answer_text(letter, q.options))
            return answers

    report = evaluate(tsv, WrongOnFlips(), tmp_path / "out", "flips", circular=True)
    overall = report.overall
    assert (overall.n, overall.correct, overall.n_groups, overall.circular_correct) == (2, 2, 2, 1)
    assert overall.circular_chance == pytest.approx((1 / 16 + 1 / 3) / 2)
    by_name = {(s.level, s.name): s for s in report.scores}
    assert by_name[("type", "orientation")].circular_accuracy == 0.0
    assert by_name[("subtype", "height_higher")].circular_accuracy == 1.0
    plain = evaluate(tsv, WrongOnFlips(), tmp_path / "plain", "flips")
    assert plain.overall.n_rows == 2 and plain.overall.circular_accuracy == 1.0


def test_mmbench_index_convention_groups_copies(tmp_path):
    rows = [
        {"index": 7, "question": "q", "A": "x", "B": "y", "answer": "A", "image_path": "im.png"},
        {"index": 1_000_007, "question": "q", "A": "y", "B": "x", "answer": "B",
         "image_path": "im.png"},
    ]  # fmt: skip
    Image.new("RGB", (8, 8)).save(tmp_path / "im.png")
    items = load_items(write_tsv(tmp_path / "m.tsv", rows, [*COLUMNS[:7], "image_path"]))
    assert [(i.group, i.copy) for i in items] == [("7", 0), ("7", 1)]
    assert items[0].image_path == str((tmp_path / "im.png").resolve()) and not items[0].problem


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda rows, cols: cols.remove("answer"), "missing column(s) ['answer']"),
        (lambda rows, cols: rows[1].update(answer="C"), "answer 'C' is not one of"),
        (lambda rows, cols: rows[1].update(index="x2"), "index is not an integer"),
        (lambda rows, cols: rows[1].update(index=1), "index 1 appears twice"),
        (lambda rows, cols: rows[1].update(B=""), "fewer than two options"),
    ],
)
def test_malformed_rows_raise_errors_naming_them(tmp_path, change, message):
    rows, columns = srbench_rows(), list(COLUMNS)
    change(rows, columns)
    with pytest.raises(BenchmarkFormatError, match=re.escape(message)):
        load_items(write_tsv(tmp_path / "bad.tsv", rows, columns))


def test_ragged_rows_and_unknown_files_are_errors(tmp_path):
    tsv = write_tsv(tmp_path / "r.tsv", srbench_rows())
    tsv.write_text(tsv.read_text() + "9\tq\tx\n")
    with pytest.raises(BenchmarkFormatError, match=r"r.tsv:7: expected 10 tab-separated fields"):
        load_items(tsv)
    (tmp_path / "x.csv").write_text("a,b\n")
    with pytest.raises(BenchmarkFormatError, match=r"unknown benchmark file type '\.csv'"):
        load_items(tmp_path / "x.csv")
    with pytest.raises(BenchmarkFormatError, match=r"neither questions\.jsonl nor questions\.tsv"):
        load_items(tmp_path)


def test_rows_without_usable_images_become_failures(tmp_path):
    rows = srbench_rows()[:2]
    rows[0]["image"] = "not base64 !"
    tsv = write_tsv(tmp_path / "i.tsv", rows, [*COLUMNS, "image"])
    items = load_items(tsv, tmp_path / "images")
    assert items[0].problem == "the image column is not valid base64"
    assert items[1].problem == "no image (neither image_path nor image)"
