"""Mappers between a domain (images, vector sets) and variables ``[B, N, D]``.

Conventions: ``known [B, N]`` is True for observed variables (t = 0, repainted every step);
``dependency()`` is an ``[N, N]`` float matrix, nonzero where two variables constrain each other.
"""

from ponder.variables.layout import VariableLayout
from ponder.variables.patches import PatchMapper
from ponder.variables.vectors import VectorSetMapper

__all__ = ["PatchMapper", "VariableLayout", "VectorSetMapper"]
