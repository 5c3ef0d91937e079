"""Every benchmark script still imports against the code it measures (a renamed name in
study/ or analysis/ breaks a bench script long before anyone reruns it)."""

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda path: path.stem)
def test_bench_script_imports(script, monkeypatch):
    # As `python bench/X.py` runs it: bench/ first on the path (scripts import each other).
    monkeypatch.syspath_prepend(str(BENCH))
    monkeypatch.delitem(sys.modules, script.stem, raising=False)
    module = importlib.import_module(script.stem)  # its imports run, its __main__ part not
    assert module.__doc__, f"{script.name} does not say what it measures"
