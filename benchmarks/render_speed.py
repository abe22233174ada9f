"""Scenes per second of the spatial toolkit's generator and renderer (issue 6).

    .venv/bin/python benchmarks/render_speed.py [--scenes 50]

Generates ``--scenes`` seeded scenes, then renders and PNG-encodes each (``render_png``) at
supersample 1 and 2, and prints one line per stage with scenes/s. Not a test: timings vary
with load (this replaced a timed unit test).
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from ponder.spatial.generate import generate_scene
from ponder.spatial.render import render_png


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:.1f} scenes/s ({seconds:.2f} s for {count})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=50)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scenes = [generate_scene(np.random.default_rng(seed)) for seed in range(args.scenes)]
    print(f"generate_scene: {rate(len(scenes), time.perf_counter() - start)}")
    for supersample in (1, 2):
        start = time.perf_counter()
        size = sum(len(render_png(scene, supersample=supersample)) for scene in scenes)
        seconds = time.perf_counter() - start
        print(
            f"render_png, supersample {supersample}: {rate(len(scenes), seconds)}, "
            f"{size / len(scenes) / 1000:.1f} kB each"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
