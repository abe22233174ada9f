"""``ponder study``: one trained model under many inference schedules, side by side.

For every schedule (and every overlap, for the block schedules) it samples the same test
conditions with the same seed, evaluates the task's metrics, and records network evaluations
(NFE) and wall time; it writes ``study.md``, ``study.csv`` and, per row, an animated GIF of the
first sample's clean estimate, a heatmap of the order its variables finished in (grid layouts)
and a plot of the number of variables moving per step.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ponder.checkpoint import atomic_write
from ponder.images import to_uint8
from ponder.process import (
    ProcessRecorder,
    active_counts,
    finish_order,
    save_active_plot,
    save_order_heatmap,
    save_process_gif,
)
from ponder.schedules import SCHEDULES


@dataclass
class StudyRow:
    schedule: str
    overlap: float | None
    steps: int
    nfe: int
    seconds: float
    metrics: dict[str, float]
    pictures: dict[str, str]


def schedule_params(name: str, overlap: float | None, steps: int) -> dict:
    names = {f.name for f in fields(SCHEDULES[name])}
    params = {"steps": steps} if "steps" in names else {}
    if overlap is not None:
        params["overlap"] = overlap
    return params


def _frames(pipe, recorder: ProcessRecorder, scale: int = 4) -> np.ndarray:
    """Clean estimates of the first sample per step -> ``[S, H, W, 3]`` uint8."""
    frames = [to_uint8(pipe.task.to_images(x0[:1]))[0] for x0 in recorder.x0]
    frames = np.stack(frames)
    return frames.repeat(scale, axis=1).repeat(scale, axis=2)


def run_study(
    pipe,
    schedules: list[str],
    overlaps: list[float],
    num_samples: int,
    out: str | Path,
    steps: int | None = None,
) -> list[StudyRow]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    unknown = [s for s in schedules if s not in SCHEDULES]
    if unknown:
        raise ValueError(f"unknown schedule {unknown[0]!r}; choose from {sorted(SCHEDULES)}")
    if any(not 0 <= o < 1 for o in overlaps):
        raise ValueError(f"overlaps must lie in [0, 1), got {overlaps}")
    layout = pipe.task.layout
    fixed_steps = pipe.cfg.sample.schedule_params.get("steps", 50)
    rows = []
    for name in schedules:
        has_overlap = "overlap" in {f.name for f in fields(SCHEDULES[name])}
        block = has_overlap or name == "adaptive_seq"
        n_steps = steps or (max(layout.num_variables, fixed_steps) if block else fixed_steps)
        for overlap in overlaps if has_overlap else [None]:
            params = schedule_params(name, overlap, n_steps)
            recorder = ProcessRecorder(samples=1)
            result = pipe.sample(num_samples, name, callback=recorder, **params)
            metrics = pipe.task.evaluate(result.x, result.conditions)
            tag = name if overlap is None else f"{name}_o{overlap:g}"
            pictures = {"gif": f"{tag}.gif", "active": f"{tag}_active.png"}
            save_process_gif(_frames(pipe, recorder), out / pictures["gif"])
            t_record = recorder.t_record()
            known = result.conditions.known[:1]
            save_active_plot(
                active_counts(t_record, known),
                out / pictures["active"],
                title=f"{tag}: variables moving per step",
            )
            if layout.grid is not None:
                order = finish_order(t_record, known)[0]
                pictures["order"] = f"{tag}_order.png"
                save_order_heatmap(order.view(*layout.grid), out / pictures["order"])
            rows.append(
                StudyRow(name, overlap, n_steps, result.nfe, result.seconds, metrics, pictures)
            )
    write_tables(rows, out, num_samples)
    return rows


def write_tables(rows: list[StudyRow], out: Path, num_samples: int) -> None:
    keys = list(rows[0].metrics) if rows else []
    head = ["schedule", "overlap", "steps", "nfe", "seconds", *keys]
    lines = ["| " + " | ".join([*head, "pictures"]) + " |", "|" + "---|" * (len(head) + 1)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(head)
    for r in rows:
        values = [
            r.schedule,
            "" if r.overlap is None else f"{r.overlap:g}",
            r.steps,
            r.nfe,
            f"{r.seconds:.1f}",
            *(f"{r.metrics[k]:.4f}" for k in keys),
        ]
        links = ", ".join(f"[{kind}]({file})" for kind, file in r.pictures.items())
        lines.append("| " + " | ".join(map(str, values)) + f" | {links} |")
        writer.writerow(values)
    text = f"{num_samples} samples per row, same test conditions and seed.\n\n" + "\n".join(lines)
    atomic_write(out / "study.md", (text + "\n").encode())
    atomic_write(out / "study.csv", buffer.getvalue().encode())
