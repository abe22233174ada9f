"""The explicit 3D solver: answers any question from its scene graph by computation.

It is the reference that makes the ground truth (`questions` calls `solve`), and, wrapped as
`ExplicitSolver`, an oracle model with perfect perception for evaluation:
`ExplicitSolver(scenes).answer(question) -> (letter, trace)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ponder.spatial.families import family_of
from ponder.spatial.reasoning import Decision, Probe
from ponder.spatial.scene import Scene

if TYPE_CHECKING:
    from ponder.spatial.questions import Question

LETTERS = "ABCD"


def solve(scene: Scene, probe: Probe) -> Decision:
    """Decide `probe` on `scene`; ValueError for unknown families, ids or unsuitable objects."""
    family = family_of(probe.family)
    for object_id in (*probe.object_ids, *probe.candidates):
        scene.get(object_id)  # raises a ValueError naming the unknown id
    if len(set(probe.object_ids + probe.candidates)) != len(probe.object_ids + probe.candidates):
        raise ValueError(f"a probe must name each object once, got {probe}")
    return family.decide(scene, probe)


def letter_for(value: str, option_values: tuple[str, ...] | list[str]) -> str:
    if value not in option_values:
        raise ValueError(f"answer value {value!r} is not among the options {list(option_values)}")
    return LETTERS[list(option_values).index(value)]


class ExplicitSolver:
    """Oracle given perfect perception: the scene graphs of the questions it will be asked."""

    def __init__(self, scenes: Mapping[str, Scene] | list[Scene]):
        if not isinstance(scenes, Mapping):
            scenes = {scene.scene_id: scene for scene in scenes}
        self.scenes = dict(scenes)

    def decide(self, question: Question) -> Decision:
        if question.scene_id not in self.scenes:
            raise ValueError(
                f"no scene {question.scene_id!r} known to the solver "
                f"(it has {len(self.scenes)} scenes)"
            )
        return solve(self.scenes[question.scene_id], question.probe)

    def answer(self, question: Question) -> tuple[str, str]:
        """(option letter, explicit 3D reasoning trace ending with the chosen option)."""
        decision = self.decide(question)
        letter = letter_for(decision.value, question.option_values)
        text = question.options[LETTERS.index(letter)]
        return letter, f"{decision.trace}\nAnswer: ({letter}) {text}"
