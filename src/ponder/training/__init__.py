"""Training on PyTorch Lightning. Importing this package imports Lightning (seconds): only
``ponder train`` and ``ponder.train(...)`` do."""

from ponder.training.run import NonFiniteLossError, train

__all__ = ["NonFiniteLossError", "train"]
