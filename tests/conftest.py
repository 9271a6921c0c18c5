"""Shared fixtures: the toy dataset, the embedded BNSSG dataset and the shared raw-data folder."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
RAW_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def toy():  # type: ignore[no-untyped-def]
    from toy import toy_dataset

    return toy_dataset()


@pytest.fixture(scope="session")
def bnssg():  # type: ignore[no-untyped-def]
    from geodata.dataset import load_dataset

    return load_dataset()


@pytest.fixture(scope="session")
def raw_data() -> Path:
    """The raw open data (``../shared/data`` beside the checkout), or a skip where it is absent.

    CI has the folder; a newcomer's fresh clone does not, and the tests that rebuild from it should then be
    skipped rather than fail, so the README's test command holds on any machine.
    """
    if not RAW_DATA.is_dir():
        pytest.skip(f"raw data folder {RAW_DATA} not available")
    return RAW_DATA
