"""Questions with exact answers: wording, options, answer letter, trace and gold scene graph.

For each family, `make_question` samples probes (which objects the question is about) from
the scene's well-visible objects, lets the explicit solver decide each, drops near-ties
(`Decision.clear` is False), picks an answer value uniformly among those still possible (so
yes/no and label answers are balanced) and words the question.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import permutations

import numpy as np

from ponder.spatial.families import Family, family_of
from ponder.spatial.geometry import visible_fractions
from ponder.spatial.reasoning import Decision, Probe
from ponder.spatial.scene import Scene, spatialthinker_json
from ponder.spatial.shapes import CATEGORIES
from ponder.spatial.solver import LETTERS, letter_for, solve

QUESTION_MIN_VISIBLE = 0.5  # objects named in a question show at least this much of their box
PROBE_LIMIT = 120  # object choices tried per family and scene
PLURALS = {"person": "people"}


@dataclass(frozen=True)
class Question:
    qid: str
    scene_id: str
    family: str  # key of ponder.spatial.families.FAMILIES
    benchmark: str  # "3DSRBench" | "CV-Bench" | "SpatialThinker"
    l2_category: str
    category: str
    text: str  # the question alone, without options
    options: tuple[str, ...]  # 2 or 4 option texts, in letter order A, B, C, D
    option_values: tuple[str, ...]  # machine values of the options ("yes", "car.1", "left", "3")
    answer: str  # the correct letter
    probe: Probe
    trace: tuple[str, ...]  # explicit 3D reasoning, SpatialReasoner style
    gold_scene: dict = field(default_factory=dict)  # SpatialThinker subgraph (pixel boxes)
    image_path: str = ""  # relative to the exported data set's folder

    @property
    def answer_value(self) -> str:
        return self.option_values[LETTERS.index(self.answer)]

    @property
    def answer_text(self) -> str:
        return self.options[LETTERS.index(self.answer)]

    def to_dict(self) -> dict:
        return {
            "qid": self.qid,
            "scene_id": self.scene_id,
            "family": self.family,
            "benchmark": self.benchmark,
            "l2_category": self.l2_category,
            "category": self.category,
            "question": self.text,
            "options": list(self.options),
            "option_values": list(self.option_values),
            "answer": self.answer,
            "answer_text": self.answer_text,
            "object_ids": list(self.probe.object_ids),
            "candidates": list(self.probe.candidates),
            "query_category": self.probe.category,
            "trace": list(self.trace),
            "gold_scene": self.gold_scene,
            "image_path": self.image_path,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Question:
        probe = Probe(
            data["family"],
            tuple(data["object_ids"]),
            tuple(data["candidates"]),
            data.get("query_category"),
        )
        return cls(
            data["qid"],
            data["scene_id"],
            data["family"],
            data["benchmark"],
            data["l2_category"],
            data["category"],
            data["question"],
            tuple(data["options"]),
            tuple(data["option_values"]),
            data["answer"],
            probe,
            tuple(data["trace"]),
            data.get("gold_scene", {}),
            data.get("image_path", ""),
        )


def _fits(scene: Scene, object_id: str, role: str) -> bool:
    category = scene.get(object_id).category
    if role == "front":
        return CATEGORIES[category].has_front
    return category == "person" if role == "person" else True


def _object_probes(scene, family: Family, rng, eligible: list[str]) -> list[Probe]:
    """Every role assignment (a random PROBE_LIMIT of them when there are more), each with
    randomly drawn candidates when the family's options are objects."""
    assignments = [
        chosen
        for chosen in permutations(eligible, len(family.roles))
        if all(_fits(scene, i, role) for i, role in zip(chosen, family.roles))
    ]
    if len(assignments) > PROBE_LIMIT:
        keep = np.sort(rng.choice(len(assignments), size=PROBE_LIMIT, replace=False))
        assignments = [assignments[i] for i in keep]
    if not family.n_candidates:
        return [Probe(family.name, chosen) for chosen in assignments]
    probes: dict[tuple, Probe] = {}
    draws = max(1, PROBE_LIMIT // max(1, len(assignments)))
    for chosen in assignments:
        rest = [i for i in eligible if i not in chosen]
        sizes = [k for k in family.n_candidates if k <= len(rest)]
        for _ in range(draws if sizes else 0):
            count = int(rng.choice(sizes))
            picked = [rest[i] for i in rng.choice(len(rest), size=count, replace=False)]
            probe = Probe(family.name, chosen, tuple(picked))
            probes.setdefault((chosen, frozenset(picked)), probe)
    return list(probes.values())


def candidate_probes(
    scene: Scene, family: Family, rng: np.random.Generator, visible: dict[str, float]
) -> list[Probe]:
    """Possible probes of `family` on `scene` (not yet decided)."""
    if family.name in ("st_count", "st_existence"):
        present = set(scene.categories)
        names = sorted(present) if family.name == "st_count" else list(CATEGORIES)
        return [Probe(family.name, category=c) for c in names if c in CATEGORIES]
    eligible = [o.id for o in scene.objects if visible[o.id] >= QUESTION_MIN_VISIBLE]
    return _object_probes(scene, family, rng, eligible)


def _options(family: Family, probe: Probe, decision: Decision, scene: Scene, rng):
    """(option texts, option values) in letter order."""
    if family.answer_kind == "yes_no":
        return ("yes", "no"), ("yes", "no")
    if family.answer_kind == "labels":
        return family.labels, family.labels
    if family.answer_kind == "objects":
        return tuple(scene.get(i).description for i in probe.candidates), probe.candidates
    n = int(decision.value)
    pool = [v for v in range(max(0, n - 3), n + 4) if v != n]
    values = [n, *(int(v) for v in rng.choice(pool, size=3, replace=False))]
    values = [values[i] for i in rng.permutation(4)]  # the answer's letter is uniform
    return tuple(str(v) for v in values), tuple(str(v) for v in values)


def _wording(family: Family, probe: Probe, scene: Scene) -> str:
    names = {f"o{k}": scene.get(i).description for k, i in enumerate(probe.object_ids)}
    names |= {f"c{k}": scene.get(i).description for k, i in enumerate(probe.candidates)}
    category = (probe.category or "").replace("_", " ")
    text = family.template.format(
        **names, category=category, categories=PLURALS.get(category, category + "s")
    )
    return text[0].upper() + text[1:]


def make_question(
    scene: Scene,
    family_name: str,
    rng: np.random.Generator,
    visible: dict[str, float] | None = None,
    qid: str | None = None,
):
    """One unambiguous question of the family about `scene`, or None if none can be made."""
    family = family_of(family_name)
    visible = visible_fractions(scene) if visible is None else visible
    by_value: dict[str, list[tuple[Probe, Decision]]] = {}
    for probe in candidate_probes(scene, family, rng, visible):
        decision = solve(scene, probe)
        if decision.clear:
            key = "any" if family.answer_kind == "objects" else decision.value
            by_value.setdefault(key, []).append((probe, decision))
    if not by_value:
        return None
    values = sorted(by_value)
    choices = by_value[values[int(rng.integers(len(values)))]]
    probe, decision = choices[int(rng.integers(len(choices)))]
    texts, values_ = _options(family, probe, decision, scene, rng)
    involved = list(probe.object_ids + probe.candidates)
    if probe.category is not None:
        involved = [o.id for o in scene.objects if o.category == probe.category]
    gold = spatialthinker_json(scene, involved, list(decision.relationships))
    return Question(
        qid=qid or f"{scene.scene_id}-{family.name}",
        scene_id=scene.scene_id,
        family=family.name,
        benchmark=family.benchmark,
        l2_category=family.l2_category,
        category=family.category,
        text=_wording(family, probe, scene),
        options=texts,
        option_values=values_,
        answer=letter_for(decision.value, values_),
        probe=probe,
        trace=decision.steps,
        gold_scene=gold,
    )


def generate_questions(
    scene: Scene, rng: np.random.Generator, families: list[str], max_questions: int | None = None
) -> list[Question]:
    """Questions about `scene`, at most one per family, in the given family order."""
    visible = visible_fractions(scene)
    questions = []
    for name in families:
        if max_questions is not None and len(questions) >= max_questions:
            break
        question = make_question(scene, name, rng, visible)
        if question is not None:
            questions.append(question)
    return questions
