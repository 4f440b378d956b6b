"""Smoke tests of the benchmark scripts: each one's ``--quick`` mode runs and prints a sane markdown table.

These are not timing tests (timings on a shared CI machine mean nothing); they keep the scripts from rotting and
check that the tables have the expected rows with finite, positive numbers. The scripts that compare against a
hand-written loop run the current ``KERAS_BACKEND``'s loop.
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    """Import ``benchmarks/<name>.py`` as a module (the folder is a set of scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(f"benchmark_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(BENCHMARKS))
    spec.loader.exec_module(module)
    return module


def _table_rows(text: str) -> list[list[str]]:
    """The body rows of the first markdown table in ``text`` (cells stripped); fails if there is none."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    assert len(lines) >= 3, f"no markdown table in:\n{text}"
    assert set(lines[1].replace("|", "")) == {"-"}, f"second line is not a header rule: {lines[1]!r}"
    body = []
    for line in lines[2:]:
        if set(line.replace("|", "")) == {"-"}:  # a second table starts
            break
        if line.startswith("| backend") or line.startswith("| config"):
            break
        body.append([cell.strip() for cell in line.strip("|").split("|")])
    return body


def _positive_number(cell: str) -> float:
    value = float(cell)
    assert math.isfinite(value) and value > 0, f"expected a finite positive number, got {cell!r}"
    return value


def test_common_flop_counts_match_a_direct_count():
    common = _load("common")
    points, sizes = 10, [2, 4, 4, 1]
    # forward 2*N*(2*4 + 4*4 + 4*1); kernel grads the same; input grads for layers 2 and 3 only.
    forward = 2 * points * (8 + 16 + 4)
    assert common.siren_matmul_flops_per_step(points, sizes) == forward * 2 + 2 * points * (16 + 4)
    assert common.siren_sine_evaluations_per_step(points, sizes) == 2 * points * 8


def test_reference_siren_weights_follow_the_reference_bounds():
    common = _load("common")
    weights = common.reference_siren_weights([2, 64, 64, 1], w0=30.0, seed=0)
    assert [kernel.shape for kernel, _ in weights] == [(2, 64), (64, 64), (64, 1)]
    assert np.abs(weights[0][0]).max() <= 0.5  # U(-1/2, 1/2) for fan-in 2
    assert np.abs(weights[0][0]).max() > 0.4
    bound = math.sqrt(6 / 64) / 30
    assert np.abs(weights[1][0]).max() <= bound and np.abs(weights[1][0]).max() > 0.8 * bound
    assert np.abs(weights[1][1]).max() <= 1 / 8 and np.abs(weights[1][1]).max() > 0.1  # bias U(-1/sqrt(64), ..)


def test_overhead_quick_compares_with_the_current_backends_handwritten_loop():
    overhead = _load("overhead")
    text = overhead.main(["--quick", "--backends", keras.backend.backend()])
    rows = _table_rows(text)
    assert len(rows) == 1 and rows[0][0] == keras.backend.backend()
    hand, keras_inr_step, ratio = (_positive_number(cell) for cell in rows[0][1:4])
    assert ratio == pytest.approx(keras_inr_step / hand, rel=1e-2)
    assert all(math.isfinite(float(cell)) for cell in rows[0][6:8])  # PSNRs
    assert "hand-written" in text and "keras-inr full_batch" in text and "keras-inr arrays" in text


def test_roofline_quick_reports_a_bound_and_a_fraction():
    roofline = _load("roofline")
    rows = _table_rows(roofline.main(["--quick", "--backends", keras.backend.backend()]))
    assert len(rows) == 1 and rows[0][0] == keras.backend.backend()
    numbers = [_positive_number(cell) for cell in rows[0][1:9]]
    bound, step, step_over_bound, fraction = numbers[3], numbers[5], numbers[6], numbers[7]
    assert step_over_bound == pytest.approx(step / bound, rel=1e-2)
    assert fraction == pytest.approx(1 / step_over_bound, rel=1e-2)


def test_quality_per_time_quick_reaches_its_target_with_both_recipes():
    quality = _load("quality_per_time")
    text = quality.main(["--quick"])
    rows = {row[0]: row for row in _table_rows(text)}
    assert set(rows) == {"reference", "defaults"}
    for row in rows.values():
        assert int(row[5]) >= 0
        _positive_number(row[6])
        assert float(row[8]) >= 10.0  # the quick target
    assert "Defaults' time / reference's time" in text


def test_tancik_quick_has_baselines_and_defaults():
    tancik = _load("tancik")
    text = tancik.main(["--quick"])
    rows = {row[0]: row for row in _table_rows(text)}
    assert set(rows) == {"rff-paper", "siren-reference", "defaults"}
    for row in rows.values():
        assert math.isfinite(float(row[5]))  # camera test PSNR
        _positive_number(row[-1])  # seconds
    assert "Defaults minus the better baseline" in text


def test_tancik_rejects_unknown_config_names():
    tancik = _load("tancik")
    with pytest.raises(ValueError, match="--configs"):
        tancik.main(["--quick", "--configs", "nonsense"])


def test_precision_quick_reports_every_policy(capsys):
    precision = _load("precision")
    precision.main(["--quick"])
    rows = {row[0]: row for row in _table_rows(capsys.readouterr().out)}
    assert set(rows) == {"float32", "mixed_bfloat16", "mixed_float16"}
    assert float(rows["float32"][2]) == 0.0  # the reference row
    assert rows["float32"][3] == "float32" and rows["mixed_bfloat16"][3] == "bfloat16"
    assert rows["mixed_float16"][3] == "float16" and rows["mixed_float16"][4] == "yes"  # Keras' loss scaling
    for row in rows.values():
        _positive_number(row[1])
        assert row[7] == "yes"  # finite outputs


def test_families_quick_fits_and_times_two_families_on_both_protocols():
    bench = _load("families")
    backend = keras.backend.backend()
    text = bench.main(["--quick", "--protocol", "both", "--backends", backend])
    fit_part, tancik_part = text.split("Protocol tancik")
    fit_rows = {row[0]: row for row in _table_rows(fit_part)}
    assert set(fit_rows) == {"siren", "gauss"}
    for row in fit_rows.values():
        assert int(row[1]) > 0 and int(row[2]) == 16  # parameter count, width (--quick's)
        assert math.isfinite(float(row[3])) and -1 <= float(row[4]) <= 1  # camera PSNR, SSIM
        _positive_number(row[-1])  # seconds per step on the current backend
    assert fit_rows["siren"][1] == fit_rows["gauss"][1]  # the same width, the same parameter count
    assert f"s/step {backend}" in fit_part
    tancik_part, settings_part = tancik_part.split("Settings")
    tancik_rows = {row[0]: row for row in _table_rows(tancik_part)}
    assert set(tancik_rows) == {"siren", "gauss"}
    assert all(math.isfinite(float(row[3])) for row in tancik_rows.values())  # camera test PSNR
    assert {row[0] for row in _table_rows(settings_part)} == {"siren", "gauss"}


def test_families_matches_parameter_counts_and_keeps_the_earlier_gaussian_init():
    bench = _load("families")
    # WIRE's complex weights and the multi-bump layer's extra pairs: narrower models with SIREN's parameter count
    widths = bench.family_widths(["siren", "wire", "multigauss"], 32, 2, match=True)
    target = bench.parameter_count("siren", 1, 32, 2)
    assert widths["siren"] == 32 and widths["multigauss"] < 32
    for name in ("wire", "multigauss"):
        assert abs(bench.parameter_count(name, 1, widths[name], 2) - target) <= 0.05 * target
    assert bench.family_widths(["siren", "multigauss"], 32, 2, match=False) == {"siren": 32, "multigauss": 32}
    # "gauss_glorot": the before row of the Gaussian default's before/after
    from keras_inr import families

    bench.register_gauss_glorot()
    try:
        model = bench.build(bench.GAUSS_GLOROT, 1, 16, 2)
        model(np.zeros((1, 2), dtype="float32"))
    finally:
        families.unregister(bench.GAUSS_GLOROT)  # other tests iterate over every registered family
    biases = [keras.ops.convert_to_numpy(weight) for weight in model.weights if weight.path.endswith("bias")]
    assert biases and all(np.all(bias == 0) for bias in biases[:-1])  # zero hidden biases (Glorot/zeros)
    gauss = bench.build("gauss", 1, 16, 2)
    gauss(np.zeros((1, 2), dtype="float32"))
    assert np.any(keras.ops.convert_to_numpy(gauss.weights[1]) != 0)  # fan-in uniform biases


def test_families_rejects_unknown_families_and_protocols():
    bench = _load("families")
    with pytest.raises(ValueError, match="--families"):
        bench.main(["--quick", "--families", "siren,nonsense"])
    with pytest.raises(ValueError, match="--protocol"):
        bench.main(["--quick", "--protocol", "nonsense"])
