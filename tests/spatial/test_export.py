"""Export and CLI: files written atomically, TSV with circular copies, bad input exits 2."""

import csv
import json

import pytest

from ponder.spatial.cli import main
from ponder.spatial.export import TSV_COLUMNS, circular_rows, write_atomic
from ponder.spatial.questions import Question
from ponder.spatial.reasoning import Probe


def read_tsv(path):
    return list(csv.DictReader(path.open(), delimiter="\t"))


def test_generate_writes_a_complete_reproducible_set(tmp_path, capsys):
    out = tmp_path / "set"
    assert main(["generate", "--n", "12", "--out", str(out), "--seed", "3"]) == 0
    assert "wrote 12 questions" in capsys.readouterr().out
    names = sorted(p.name for p in out.iterdir())
    assert names == ["images", "manifest.json", "questions.jsonl", "questions.tsv", "scenes.jsonl"]
    assert not [p for p in out.rglob(".*")]  # no temporary files left behind
    manifest = json.loads((out / "manifest.json").read_text())
    questions = [json.loads(line) for line in (out / "questions.jsonl").open()]
    assert manifest["n_questions"] == len(questions) == 12
    for q in questions:
        assert (out / q["image_path"]).is_file()
    rows = read_tsv(out / "questions.tsv")
    assert tuple(rows[0]) == TSV_COLUMNS
    assert len(rows) == sum(len(q["options"]) for q in questions) == manifest["n_tsv_rows"]
    again = tmp_path / "again"
    assert main(["generate", "--n", "12", "--out", str(again), "--seed", "3"]) == 0
    for name in ("questions.jsonl", "scenes.jsonl", "questions.tsv"):
        assert (out / name).read_bytes() == (again / name).read_bytes()
    first_image = questions[0]["image_path"]
    assert (out / first_image).read_bytes() == (again / first_image).read_bytes()


def test_family_groups_and_plain_order(tmp_path):
    out = tmp_path / "cv"
    assert (
        main(["generate", "--n", "6", "--out", str(out), "--families", "cvbench", "--no-circular"])
        == 0
    )
    rows = read_tsv(out / "questions.tsv")
    assert len(rows) == 6
    assert {r["benchmark"] for r in rows} == {"CV-Bench"}
    assert all(r["C"] == "" and r["D"] == "" and r["answer"] in "AB" for r in rows)


def test_unknown_family_exits_2_naming_the_choices(tmp_path, capsys):
    code = main(["generate", "--n", "3", "--out", str(tmp_path / "x"), "--families", "bogus"])
    assert code == 2
    error = capsys.readouterr().err
    assert "bogus" in error and "3dsr_height" in error and "cvbench" in error
    assert not (tmp_path / "x").exists()
    assert main(["generate", "--n", "0", "--out", str(tmp_path / "x")]) == 2


def test_families_command_lists_every_family(capsys):
    assert main(["families"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 23


def test_circular_rows_rotate_options_and_answer():
    question = Question(
        "q",
        "s",
        "st_relation",
        "SpatialThinker",
        "spatialthinker",
        "relation",
        "Where?",
        ("left of", "right of", "in front of", "behind"),
        ("left of", "right of", "in front of", "behind"),
        "C",
        Probe("st_relation", ("car.1", "crate.1")),
        ("step",),
    )
    rows = circular_rows(question, g_index=7)
    assert [r["index"] for r in rows] == [7, 1_000_007, 2_000_007, 3_000_007]
    assert [r["answer"] for r in rows] == ["C", "B", "A", "D"]
    assert all(r[r["answer"]] == "in front of" for r in rows)
    assert [r["A"] for r in rows] == ["left of", "right of", "in front of", "behind"]


def test_write_atomic_replaces_whole_files(tmp_path):
    target = tmp_path / "deep" / "file.txt"
    write_atomic(target, b"first")
    write_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


@pytest.mark.parametrize("argv", [[], ["generate"], ["generate", "--n", "x", "--out", "o"]])
def test_bad_command_lines_exit_2(argv):
    assert main(argv) == 2
