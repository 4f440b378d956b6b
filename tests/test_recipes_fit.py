"""Smoke test of recipes/fit_image.py in its --quick mode (in-process)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_inr.data import load_image

RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "fit_image.py"


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("fit_image_recipe", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_prints_a_table_and_saves_figures(recipe, tmp_path, capsys):
    results = recipe.main(["--quick", "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert [r["family"] for r in results] == ["siren", "gauss", "ffn"]
    table = [line for line in printed.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + 3  # header + one row per family
    for name in ("SIREN", "Gaussian", "Fourier features"):
        assert any(line.startswith(f"| {name} |") for line in table)

    target = load_image("camera", size=32)
    mean_psnr = 10 * np.log10(1 / np.mean((target - target.mean()) ** 2))
    assert max(r["psnr"] for r in results) > mean_psnr + 8  # something was learned in 100 steps
    for result in results:
        assert f"{result['psnr']:.2f}" in printed
        assert result["reconstruction"].shape == (32, 32, 1)
        # the printed PSNR is the PSNR of the render; the saved PNG is that render in 8 bits
        direct = 10 * np.log10(1 / np.mean((result["reconstruction"].astype(np.float64) - target) ** 2))
        assert result["psnr"] == pytest.approx(direct, abs=1e-3)
        with Image.open(tmp_path / f"{result['family']}.png") as handle:
            saved = np.asarray(handle, dtype=np.float32) / 255.0
        np.testing.assert_allclose(saved, np.clip(result["reconstruction"][..., 0], 0, 1), atol=1 / 255 + 1e-6)
    with Image.open(tmp_path / "comparison.png") as handle:
        assert handle.format == "PNG" and handle.size[0] > handle.size[1]


def test_family_subset_and_bad_arguments(recipe, tmp_path, capsys):
    results = recipe.main(["--quick", "--families", "gauss", "--steps", "5", "--out", str(tmp_path)])
    assert [r["family"] for r in results] == ["gauss"]
    assert "SIREN" not in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        recipe.main(["--families", "siren,mlp", "--out", str(tmp_path)])
    assert exit_.value.code == 2
    assert "mlp" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        recipe.main(["--steps", "0", "--out", str(tmp_path)])
