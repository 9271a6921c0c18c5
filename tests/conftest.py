"""Shared fixtures: the toy dataset, the embedded BNSSG dataset and the shared raw-data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def toy():  # type: ignore[no-untyped-def]
    from toy import toy_dataset

    return toy_dataset()


@pytest.fixture(scope="session")
def bnssg():  # type: ignore[no-untyped-def]
    from geodata.dataset import load_dataset

    return load_dataset()
