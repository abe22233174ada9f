"""Shared fixtures. Tests run on the CPU with 2 threads and fixed seeds."""

from __future__ import annotations

import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)
