"""Complex weights (WIRE), per-layer families and learnable activation parameters, on the current backend."""

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import CoordinateMLP, build_model, families
from keras_inr.layers import ComplexDense, ComplexGaborDense, RealGaborDense, complex_affine

# isort: split
import hypernets

RNG = np.random.default_rng(0)


def _numpy(value):
    return np.asarray(keras.ops.convert_to_numpy(value))


def _complex(weight):
    """A stored complex weight ``(..., 2)`` as a numpy complex array."""
    array = _numpy(weight)
    return array[..., 0] + 1j * array[..., 1]


def _reference_wire(model, coordinates):
    """WIRE evaluated with numpy complex arithmetic from the model's weights (the reference's formulation)."""
    values = coordinates.astype(np.complex128)
    for layer in model.hidden_layers:
        if layer.complex_input:
            kernel, bias = _complex(layer.kernel), _complex(layer.bias)
        else:
            kernel, bias = _numpy(layer.kernel), _numpy(layer.bias)
        z = values @ kernel + bias
        values = np.exp(1j * layer.w0 * z - np.abs(layer.s0 * z) ** 2)
    output = model.output_layer
    return (values @ _complex(output.kernel) + _complex(output.bias)).real


# --- the complex convention -----------------------------------------------------------------------------------------
def test_complex_affine_matches_complex_arithmetic_for_shared_and_per_sample_weights():
    inputs = RNG.normal(size=(2, 5, 3)) + 1j * RNG.normal(size=(2, 5, 3))
    kernel = RNG.normal(size=(2, 3, 4)) + 1j * RNG.normal(size=(2, 3, 4))
    bias = RNG.normal(size=(2, 4)) + 1j * RNG.normal(size=(2, 4))

    def pair(array):
        return np.concatenate([array.real, array.imag], axis=-1).astype("float32")

    def stored(array):
        return np.stack([array.real, array.imag], axis=-1).astype("float32")

    expected = inputs @ kernel + bias[:, None, :]
    per_sample = _numpy(complex_affine(pair(inputs), stored(kernel), stored(bias)))
    np.testing.assert_allclose(per_sample, pair(expected), rtol=1e-5, atol=1e-5)
    shared = _numpy(complex_affine(pair(inputs[0]), stored(kernel[0]), stored(bias[0])))
    np.testing.assert_allclose(shared, pair(inputs[0] @ kernel[0] + bias[0]), rtol=1e-5, atol=1e-5)
    real = _numpy(complex_affine(pair(inputs[0]), stored(kernel[0]), stored(bias[0]), real_part=True))
    np.testing.assert_allclose(real, (inputs[0] @ kernel[0] + bias[0]).real, rtol=1e-5, atol=1e-5)


def test_complex_gabor_matches_the_paper_formula():
    z = RNG.normal(size=(6,)) * 0.3 + 1j * RNG.normal(size=(6,)) * 0.05
    expected = np.exp(1j * 20.0 * z - np.abs(10.0 * z) ** 2)
    real, imag = keras_inr.activations.complex_gabor(z.real.astype("float32"), z.imag.astype("float32"), 20.0, 10.0)
    np.testing.assert_allclose(_numpy(real), expected.real, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(_numpy(imag), expected.imag, rtol=1e-4, atol=1e-6)
    x = z.real.astype("float32")
    real, imag = keras_inr.activations.complex_gabor(x, None, 20.0, 10.0)
    expected = np.exp(1j * 20.0 * x - (10.0 * x) ** 2)
    np.testing.assert_allclose(_numpy(real) + 1j * _numpy(imag), expected, rtol=1e-4, atol=1e-6)


def test_wire_model_equals_numpy_complex_reference_and_outputs_real_float32():
    model = keras_inr.WIRE(out_dims=2, width=16, depth=3, w0=5.0, s0=2.0, in_dims=2)
    widths = [layer.units for layer in model.hidden_layers]
    assert widths == [round(16 / np.sqrt(2))] * 3  # the paper's width / sqrt(2)
    assert [layer.complex_input for layer in model.hidden_layers] == [False, True, True]
    assert tuple(model.hidden_layers[1].kernel.shape) == (11, 11, 2) and isinstance(model.output_layer, ComplexDense)
    coordinates = RNG.uniform(-1, 1, (9, 2)).astype("float32")
    outputs = model(coordinates)
    assert keras.backend.standardize_dtype(outputs.dtype) == "float32" and tuple(outputs.shape) == (9, 2)
    np.testing.assert_allclose(_numpy(outputs), _reference_wire(model, coordinates), rtol=1e-4, atol=1e-5)


def _sgd_gradients(model, coordinates, values):
    """Gradients of the mean squared error with respect to every trainable variable, backend-independently: one SGD
    step with learning rate 1 moves each variable by minus its gradient."""
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    before = [_numpy(v).copy() for v in model.trainable_variables]
    model.train_on_batch(coordinates, values)
    return [b - _numpy(v) for b, v in zip(before, model.trainable_variables)]


def _loss(model, coordinates, values):
    return float(np.mean((_numpy(model(coordinates)).astype(np.float64) - values) ** 2))


@pytest.mark.parametrize("family", ["wire", "wire_real"])
def test_gabor_gradients_match_finite_differences(family):
    """Real and imaginary parts of every complex weight get the real gradient (central differences)."""
    keras.utils.set_random_seed(1)
    model = build_model(family, 1, width=6, depth=2, w0=3.0, s0=2.0, in_dims=2, learnable=("w0", "s0"))
    coordinates = RNG.uniform(-1, 1, (32, 2)).astype("float32")
    values = RNG.normal(size=(32, 1)).astype("float32")
    weights = [_numpy(v).copy() for v in model.trainable_variables]
    gradients = _sgd_gradients(model, coordinates, values)
    for variable, weight in zip(model.trainable_variables, weights):
        variable.assign(weight)
    assert any(w.ndim == 3 and w.shape[-1] == 2 for w in weights)  # complex (or two-map) kernels are among them
    assert sum(w.ndim == 0 for w in weights) == 4  # w0 and s0 of both layers
    for variable, weight, gradient in zip(model.trainable_variables, weights, gradients):
        flat = weight.reshape(-1)
        for index in RNG.choice(flat.size, size=min(4, flat.size), replace=False):
            epsilon = 1e-2 * max(1.0, abs(float(flat[index])))
            losses = []
            for sign in (1, -1):
                shifted = flat.copy()
                shifted[index] += sign * epsilon
                variable.assign(shifted.reshape(weight.shape))
                losses.append(_loss(model, coordinates, values))
            variable.assign(weight)
            numeric = (losses[0] - losses[1]) / (2 * epsilon)
            analytic = float(gradient.reshape(-1)[index])
            assert abs(numeric - analytic) <= 2e-2 * max(abs(numeric), 1e-2), (variable.path, index, numeric, analytic)


@pytest.mark.parametrize("family", ["wire", "wire_real"])
def test_gabor_families_fit_a_signal_and_reload_exactly(family, tmp_path):
    keras.utils.set_random_seed(0)
    coordinates = keras_inr.data.coordinate_grid((24, 24))
    values = (np.sin(4 * coordinates[:, :1]) * np.cos(3 * coordinates[:, 1:])).astype("float32")
    model = build_model(family, 1, width=48, depth=2, in_dims=2)
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss="mse")
    start = _loss(model, coordinates, values)
    model.fit(coordinates, values, batch_size=len(coordinates), epochs=150, verbose=0)
    end = _loss(model, coordinates, values)
    assert end < 0.05 * start, (start, end)
    path = tmp_path / f"{family}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    for original, revived in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(_numpy(original), _numpy(revived))
    np.testing.assert_array_equal(_numpy(model(coordinates)), _numpy(loaded(coordinates)))


@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_complex_target_with_every_head_emits_complex_weights_and_trains(head):
    keras.utils.set_random_seed(0)
    target = build_model("wire", 1, width=8, depth=2, in_dims=2)
    encoder = keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(8)])
    model = hypernets.HyperINR(encoder, target, head=head)
    images = RNG.uniform(size=(4, 6, 6, 1)).astype("float32")
    weights = model(images)
    kernel, bias = weights[1]  # the first complex layer
    assert tuple(kernel.shape)[-3:] == (6, 6, 2) and tuple(bias.shape)[-2:] == (6, 2)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(images, images, epochs=2, batch_size=4, verbose=0)
    assert all(np.isfinite(history.history["loss"]))


# --- per-layer families ----------------------------------------------------------------------------------------------
def test_per_layer_families_build_round_trip_and_save(tmp_path):
    model = CoordinateMLP(
        1, width=12, hidden=["sine", "wire", "gauss"],
        hidden_config=[{"w0": 25.0}, {"w0": 8.0, "s0": 3.0}, None], in_dims=2,
    )
    layers = model.hidden_layers
    assert [type(layer).__name__ for layer in layers] == ["SineDense", "ComplexGaborDense", "GaussianDense"]
    assert layers[0].w0 == 25.0 and layers[1].w0 == 8.0 and not layers[1].complex_input  # real input from sine
    assert layers[2].input_dim == 2 * layers[1].units  # the Gaussian sees [real | imaginary] of the wavelets
    assert model.hidden == ["siren", "wire", "gauss"] and model.depth == 3
    revived = CoordinateMLP.from_config(model.get_config())
    assert revived.get_config() == model.get_config()
    coordinates = RNG.uniform(-1, 1, (5, 2)).astype("float32")
    path = tmp_path / "mixed.keras"
    model.save(path)
    np.testing.assert_array_equal(_numpy(keras.saving.load_model(path)(coordinates)), _numpy(model(coordinates)))


@pytest.mark.parametrize("head", ["full", "lowrank", "shift"])
def test_per_layer_target_is_a_hypernetwork_target(head):
    target = CoordinateMLP(1, width=8, hidden=["sine", "gauss"], in_dims=2)
    model = hypernets.HyperINR(keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(4)]), target, head=head)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    images = RNG.uniform(size=(4, 5, 5, 1)).astype("float32")
    history = model.fit(images, images, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][-1])


# --- learnable activation parameters ---------------------------------------------------------------------------------
def test_learnable_w0_trains_saves_and_is_off_by_default(tmp_path):
    fixed = keras_inr.SIREN(1, width=8, depth=2, in_dims=2)
    assert len(fixed.trainable_variables) == 6  # kernels and biases only
    model = keras_inr.SIREN(1, width=8, depth=2, in_dims=2, learnable=("w0",))
    w0_variables = [v for v in model.trainable_variables if v.path.endswith("w0")]
    assert len(w0_variables) == 2 and all(float(_numpy(v)) == 30.0 for v in w0_variables)
    coordinates = keras_inr.data.coordinate_grid((8, 8))
    values = np.cos(5 * coordinates[:, :1]).astype("float32")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    model.fit(coordinates, values, batch_size=64, epochs=3, verbose=0)
    learned = [float(_numpy(v)) for v in w0_variables]
    assert all(value != 30.0 for value in learned)
    assert model.get_config()["learnable"] == [["w0"], ["w0"]] and model.w0 == 30.0  # the config keeps the start
    path = tmp_path / "learnable.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert [float(_numpy(v)) for v in loaded.trainable_variables if v.path.endswith("w0")] == learned
    np.testing.assert_array_equal(_numpy(loaded(coordinates)), _numpy(model(coordinates)))


def test_learnable_per_layer_and_on_layers():
    model = CoordinateMLP(1, width=8, hidden=["sine", "gauss"], learnable=[(), ("inverse_scale",)], in_dims=2)
    assert model.hidden_layers[0].learnable == () and model.hidden_layers[1].learnable == ("inverse_scale",)
    layer = ComplexGaborDense(4, learnable=("s0",), is_first=True)
    layer.build((None, 2))
    assert [v.path.split("/")[-1] for v in layer.trainable_variables] == ["kernel", "bias", "s0"]


# --- bad input -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: CoordinateMLP(1, hidden=["sine", "ffn"]), "hidden"),
        (lambda: CoordinateMLP(1, hidden=["sine", "nope"]), "hidden"),
        (lambda: CoordinateMLP(1, hidden=[]), "hidden"),
        (lambda: CoordinateMLP(1, hidden=["sine", "gauss"], depth=3), "depth"),
        (lambda: CoordinateMLP(1, hidden=["sine", "gauss"], hidden_config=[{"w0": 3.0}]), "hidden_config"),
        (lambda: CoordinateMLP(1, hidden=["sine", "gauss"], hidden_config=[None, {"w0": 3.0}]), r"hidden_config\[1\]"),
        (lambda: CoordinateMLP(1, hidden="sine", learnable=("s0",)), "learnable"),
        (lambda: CoordinateMLP(1, hidden="sine", depth=2, learnable=[("w0",)]), "learnable"),
        (lambda: CoordinateMLP(1, hidden="sine", learnable=5), "learnable"),
        (lambda: keras_inr.SIREN(1, learnable=("inverse_scale",)), "learnable"),
        (lambda: keras_inr.WIRE(1, w0=0.0), "w0"),
        (lambda: keras_inr.WIRE(1, s0=-1.0), "s0"),
        (lambda: build_model("wire", 1, w0=float("nan")), "w0"),
        (lambda: build_model("wire", 1, omega=3.0), "omega"),
        (lambda: RealGaborDense(4, s0=0.0), "s0"),
        (lambda: ComplexDense(2)(np.zeros((3, 5), "float32")), "even"),
        (lambda: keras_inr.WIRE(1, dtype="complex64"), "dtype"),
        (lambda: ComplexGaborDense(4, dtype="complex64"), "dtype"),
        (lambda: build_model("siren", 1, dtype="int32"), "dtype"),
    ],
)
def test_bad_input_names_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_registry_records_the_wire_paper_settings():
    wire = families.get("wire")
    assert wire.defaults() == {"w0": 20.0, "s0": 10.0} and wire.width_scale == pytest.approx(2**-0.5)
    assert keras_inr.training.recommended("wire")["learning_rate"] == 5e-3


def test_wire_is_searchable_by_the_tuner_and_selectable_in_the_cli():
    keras_tuner = pytest.importorskip("keras_tuner")
    from keras_inr import cli, tuning

    hypermodel = tuning.INRHyperModel(1, families=["wire"], width=(32, 64), in_dims=2)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert isinstance(model, keras_inr.WIRE)
    assert hp.values["family"] == "wire" and {"w0", "s0"} <= set(hp.values)
    assert hp.values["learning_rate_wire"] == 5e-3  # the registry's recommended rate starts the search
    assert model.hidden_layers[1].complex_input
    arguments = cli.parse_args(["fit", "--model", "wire", "--w0", "12", "--s0", "4"])
    assert (arguments.model, arguments.w0, arguments.s0) == ("wire", 12.0, 4.0)
