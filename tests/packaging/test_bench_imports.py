"""Every benchmark still imports: they run by hand (`python -m bench.NAME`), so no other test would notice a helper
they import being moved or removed."""

from __future__ import annotations

import importlib

import pytest

from tests.support import REPO_ROOT

BENCHES = sorted(path.stem for path in (REPO_ROOT / "bench").glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("name", BENCHES)
def test_the_benchmark_imports(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert module.__doc__, f"bench/{name}.py says what it measures and how to run it"
