"""Every recipe (``recipes/*.py``) runs in its ``--quick`` mode and writes into ``--out``, not the repository.

The recipes are found by listing ``recipes/``, so a new recipe is covered without editing this file; each must take
``--quick`` and ``--out FOLDER``. Each runs in a subprocess (as a user runs it), on the backend of the test run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.py"))


def test_recipes_are_found():
    assert {path.name for path in RECIPES} >= {"fit_image.py", "hypernetwork_faces.py", "tune_architecture.py"}


@pytest.mark.slow
@pytest.mark.parametrize("recipe", RECIPES, ids=[path.stem for path in RECIPES])
def test_quick_run_exits_0_and_writes_into_out(recipe, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "KERAS_BACKEND": keras.backend.backend(), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, str(recipe), "--quick", "--out", str(out)], cwd=tmp_path, env=env, capture_output=True,
        text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert out.is_dir() and any(path.is_file() for path in out.rglob("*")), f"{recipe.name} wrote nothing into --out"
    # run from tmp_path: a file written relative to the working directory instead of --out would show up here
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"], "the recipe wrote outside --out"
