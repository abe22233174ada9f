"""Benchmarks: each module gives data, a variable mapper, an evaluator and a default preset.

``TASKS`` maps a task name to its class; a task class has a ``Config`` dataclass, and instances
provide ``layout``, ``train_batch``, ``test_batch``, ``evaluate``, ``to_images`` and
``dependency``.
"""

from ponder.tasks.even_pixels import EvenPixelsTask
from ponder.tasks.graph_connectivity import ConnectivityTask
from ponder.tasks.matrix_addition import MatrixAdditionTask
from ponder.tasks.matrix_completion import LowRankCompletionTask
from ponder.tasks.matrix_inverse import MatrixInverseTask
from ponder.tasks.mnist_sudoku import MnistSudokuTask
from ponder.tasks.shortest_path import ShortestPathTask
from ponder.tasks.sudoku import SudokuTask

TASKS: dict[str, type] = {
    "even_pixels": EvenPixelsTask,
    "sudoku": SudokuTask,
    "matrix_addition": MatrixAdditionTask,
    "mnist_sudoku": MnistSudokuTask,
    "matrix_inverse": MatrixInverseTask,
    "low_rank_completion": LowRankCompletionTask,
    "connectivity": ConnectivityTask,
    "shortest_path": ShortestPathTask,
}

__all__ = ["TASKS"]
