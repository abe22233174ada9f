"""ponder: reasoning with denoising generative models.

``ponder.train(preset, out=..., **overrides)`` trains (imports Lightning on first use);
``ponder.load(run_dir)`` returns a model with ``.sample(...)`` and ``.evaluate(...)``.
Importing ponder itself stays light: torch and the core math only, on demand.
"""

from __future__ import annotations

__version__ = "0.1.0"


def train(preset, out, resume: bool = False, force: bool = False, **overrides):
    """Train ``preset`` into the run folder ``out``. Overrides use double underscores for dots:
    ``ponder.train("even_pixels", out="runs/a", train__steps=200)``."""
    from ponder.training import train as _train

    items = [f"{k.replace('__', '.')}={_yaml(v)}" for k, v in overrides.items()]
    return _train(preset, out, items, resume=resume, force=force)


def load(run_dir, device: str | None = None, weights: str = "ema"):
    """A trained run ready to ``.sample(...)`` and ``.evaluate(...)``."""
    from ponder.api import load as _load

    return _load(run_dir, device, weights)


def _yaml(value) -> str:
    import json

    return json.dumps(value) if not isinstance(value, str) else value
