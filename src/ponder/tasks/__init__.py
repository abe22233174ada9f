"""Benchmarks: each module gives data, a variable mapper, an evaluator and a default preset.

``TASKS`` maps a task name to its class; a task class has a ``Config`` dataclass, and instances
provide ``layout``, ``train_batch``, ``test_batch``, ``evaluate``, ``to_images`` and
``dependency``.
"""

from ponder.tasks.even_pixels import EvenPixelsTask

TASKS: dict[str, type] = {"even_pixels": EvenPixelsTask}

__all__ = ["TASKS"]
