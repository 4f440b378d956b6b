"""keras_inr.differential and keras_inr.derivative_losses on the active backend: derivatives with respect to the
coordinates against analytic fields and central finite differences, inside compiled functions and in evaluation,
second derivatives with respect to the weights through ``model.fit``, saving, and bad input."""

from __future__ import annotations

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import derivative_losses as losses
from keras_inr import differential
from tests.conftest import to_numpy

BACKEND = keras.backend.backend()


def _points(count: int, dims: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (count, dims)).astype("float32")


def _one_sine(w0=3.0, kernel=(0.7, -0.4), bias=0.2, amplitude=1.5, offset=0.1):
    """A SIREN with one sine unit and known weights: ``f(x) = a sin(w0 (x . k + b)) + c``."""
    model = keras_inr.SIREN(1, width=1, depth=1, w0=w0, in_dims=len(kernel))
    hidden, output = model.hidden_layers[0], model.output_layer
    hidden.kernel.assign(np.asarray(kernel, "float32").reshape(-1, 1))
    hidden.bias.assign(np.asarray([bias], "float32"))
    output.kernel.assign(np.asarray([[amplitude]], "float32"))
    output.bias.assign(np.asarray([offset], "float32"))
    return model


def _one_sine_truth(x, w0=3.0, kernel=(0.7, -0.4), bias=0.2, amplitude=1.5):
    kernel = np.asarray(kernel)
    phase = w0 * (x.astype(np.float64) @ kernel + bias)
    gradient = amplitude * w0 * np.cos(phase)[:, None] * kernel
    laplacian = -amplitude * w0**2 * np.sum(kernel**2) * np.sin(phase)
    return phase, gradient, laplacian[:, None]


def _evaluate(model, x) -> np.ndarray:
    return to_numpy(model(keras.ops.convert_to_tensor(x))).astype(np.float64)


def _finite_jacobian(model, x, step=1e-3):
    eye = np.eye(x.shape[1], dtype=np.float32)
    return np.stack(
        [(_evaluate(model, x + step * eye[j]) - _evaluate(model, x - step * eye[j])) / (2 * step)
         for j in range(x.shape[1])], axis=-1,
    )


def _finite_laplacian(model, x, step=2e-2):
    eye = np.eye(x.shape[1], dtype=np.float32)
    centre = _evaluate(model, x)
    return sum(
        (_evaluate(model, x + step * eye[j]) - 2 * centre + _evaluate(model, x - step * eye[j])) / step**2
        for j in range(x.shape[1])
    )


# --- values ----------------------------------------------------------------------------------------------------
def test_one_sine_unit_has_the_analytic_gradient_and_laplacian():
    model = _one_sine()
    x = _points(16, 2)
    _, gradient, laplacian = _one_sine_truth(x)
    np.testing.assert_allclose(to_numpy(differential.gradient(model, x)), gradient, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(differential.laplacian(model, x)), laplacian, rtol=1e-4, atol=1e-3)
    both = differential.derivatives(model, x, jacobian=True, laplacian=True)
    np.testing.assert_allclose(to_numpy(both["jacobian"])[:, 0], gradient, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(both["laplacian"]), laplacian, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(to_numpy(both["values"]), _evaluate(model, x), rtol=1e-6, atol=1e-6)


def test_linear_vector_field_jacobian_divergence_and_zero_laplacian():
    matrix = np.array([[1.0, 2.0, 0.5], [-1.0, 0.3, 4.0], [0.0, 1.5, -2.0]], "float32")
    field = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])  # any Keras model, not only keras-inr's
    field.layers[0].kernel.assign(matrix)
    x = _points(8, 3)
    jac = to_numpy(differential.jacobian(field, x))
    assert jac.shape == (8, 3, 3)
    np.testing.assert_allclose(jac, np.broadcast_to(matrix.T, (8, 3, 3)), atol=1e-6)  # f_i = sum_j x_j A[j, i]
    np.testing.assert_allclose(to_numpy(differential.divergence(field, x)), np.full(8, np.trace(matrix)), atol=1e-5)
    np.testing.assert_allclose(to_numpy(differential.laplacian(field, x)), np.zeros((8, 3)), atol=1e-5)


@pytest.mark.parametrize("out_dims, in_dims", [(1, 3), (3, 2), (2, 2)])
def test_siren_derivatives_match_central_finite_differences(out_dims, in_dims):
    model = keras_inr.SIREN(out_dims, width=16, depth=2, w0=4.0, in_dims=in_dims)
    x = _points(12, in_dims, seed=out_dims)
    jac = to_numpy(differential.jacobian(model, x))
    assert jac.shape == (12, out_dims, in_dims)
    np.testing.assert_allclose(jac, _finite_jacobian(model, x), rtol=2e-2, atol=2e-3)
    lap = to_numpy(differential.laplacian(model, x))
    assert lap.shape == (12, out_dims)
    np.testing.assert_allclose(lap, _finite_laplacian(model, x), rtol=5e-2, atol=5e-2)
    if out_dims == 1:
        np.testing.assert_allclose(to_numpy(differential.gradient(model, x)), jac[:, 0], rtol=1e-5, atol=1e-6)
    if out_dims == in_dims:
        np.testing.assert_allclose(
            to_numpy(differential.divergence(model, x)), np.trace(jac, axis1=1, axis2=2), rtol=1e-5, atol=1e-5
        )


def test_callables_and_leading_axes():
    """Any callable of coordinates is a field; (batch, points, d) coordinates keep their leading axes."""
    model = _one_sine()
    x = _points(10, 2).reshape(2, 5, 2)
    _, gradient, laplacian = _one_sine_truth(x.reshape(-1, 2))
    result = differential.derivatives(lambda c: model(c), x, jacobian=True, laplacian=True)
    assert tuple(result["jacobian"].shape) == (2, 5, 1, 2) and tuple(result["laplacian"].shape) == (2, 5, 1)
    np.testing.assert_allclose(to_numpy(result["jacobian"]).reshape(-1, 2), gradient, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(result["laplacian"]).reshape(-1, 1), laplacian, rtol=1e-4, atol=1e-3)


# --- compiled functions and evaluation -------------------------------------------------------------------------
def test_inside_compiled_functions():
    model = _one_sine()
    x = _points(16, 2)
    _, gradient, laplacian = _one_sine_truth(x)
    if BACKEND == "jax":
        import jax

        compiled = jax.jit(lambda c: (differential.gradient(model, c), differential.laplacian(model, c)))
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        compiled = tf.function(lambda c: (differential.gradient(model, c), differential.laplacian(model, c)))
    else:
        import torch

        def compiled(c):  # evaluation mode: derivatives under no_grad come back detached
            with torch.no_grad():
                result = differential.gradient(model, c), differential.laplacian(model, c)
            assert not any(part.requires_grad for part in result)
            return result

    got_gradient, got_laplacian = compiled(keras.ops.convert_to_tensor(x))
    np.testing.assert_allclose(to_numpy(got_gradient), gradient, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(got_laplacian), laplacian, rtol=1e-4, atol=1e-3)


def test_weight_gradients_of_a_derivative_loss_in_user_code():
    """d/da of mean |grad f|^2 for f = a sin(w0 (x.k + b)) + c is 2 a w0^2 |k|^2 mean(cos^2) (second order)."""
    model = _one_sine()
    x = _points(16, 2)
    phase, _, _ = _one_sine_truth(x)
    expected = 2 * 1.5 * 9.0 * (0.7**2 + 0.4**2) * np.mean(np.cos(phase) ** 2)
    amplitude = model.output_layer.kernel
    index = [id(v) for v in model.trainable_variables].index(id(amplitude))
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        def loss(trainable, c):
            field = lambda p: model.stateless_call(trainable, [], p)[0]  # noqa: E731
            return jnp.mean(jnp.sum(differential.gradient(field, c) ** 2, axis=-1))

        grads = jax.jit(jax.grad(loss))([v.value for v in model.trainable_variables], x)
        got = grads[index]
    elif BACKEND == "tensorflow":
        import tensorflow as tf

        @tf.function
        def weight_gradient(c):
            with tf.GradientTape() as tape:
                value = tf.reduce_mean(tf.reduce_sum(differential.gradient(model, c) ** 2, axis=-1))
            return tape.gradient(value, amplitude.value)

        got = weight_gradient(tf.constant(x))
    else:
        import torch

        value = torch.mean(torch.sum(differential.gradient(model, torch.as_tensor(x)) ** 2, dim=-1))
        (got,) = torch.autograd.grad(value, amplitude.value)
    np.testing.assert_allclose(float(np.ravel(to_numpy(got))[0]), expected, rtol=1e-4)


# --- training through model.fit --------------------------------------------------------------------------------
def test_fit_takes_the_exact_second_order_step():
    """One SGD step of model.fit on GradientLoss (target 0) moves the amplitude by -lr * the analytic gradient."""
    model = losses.DerivativeModel(_one_sine(), [losses.GradientLoss()])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-3))
    x = _points(16, 2)
    phase, _, _ = _one_sine_truth(x)
    expected = 2 * 1.5 * 9.0 * (0.7**2 + 0.4**2) * np.mean(np.cos(phase) ** 2)
    model.fit(x, {"gradients": np.zeros((16, 2), "float32")}, batch_size=16, epochs=1, verbose=0, shuffle=False)
    new_amplitude = float(to_numpy(model.inr.output_layer.kernel)[0, 0])
    assert new_amplitude == pytest.approx(1.5 - 1e-3 * expected, abs=1e-6)


@pytest.mark.parametrize("term", ["gradient", "laplacian"])
def test_poisson_losses_train_and_evaluate(term):
    x = _points(128, 2)
    truth = _one_sine(w0=2.0)
    target = differential.derivatives(truth, x, jacobian=term == "gradient", laplacian=term == "laplacian")
    key, loss = ("gradients", losses.GradientLoss()) if term == "gradient" else ("laplacian", losses.LaplacianLoss())
    value = to_numpy(target["jacobian"][:, 0] if term == "gradient" else target["laplacian"])
    model = losses.DerivativeModel(keras_inr.SIREN(1, width=16, depth=2, w0=4.0, in_dims=2), [loss])
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    dataset = losses.full_batch_targets(x, {key: value}, steps=60, steps_per_epoch=20)
    history = model.fit(dataset, epochs=dataset.epochs, verbose=0).history
    assert set(history) == {"loss", loss.name}
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    evaluated = model.evaluate(x, {key: value}, verbose=0, return_dict=True)  # torch: evaluate runs under no_grad
    assert np.isfinite(evaluated["loss"]) and evaluated["loss"] < history["loss"][0]


def _sphere(count=400, radius=0.5, seed=0):
    normals = np.random.default_rng(seed).normal(size=(count, 3))
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    return (radius * normals).astype("float32"), normals.astype("float32")


def test_siren_sdf_loss_trains_and_saves(tmp_path):
    points, normals = _sphere()
    terms = losses.sdf_losses()
    assert [(type(t).__name__, t.weight) for t in terms] == [
        ("SurfaceLoss", 3e3), ("NormalLoss", 1e2), ("EikonalLoss", 5e1), ("OffSurfaceLoss", 1e2)
    ]
    model = losses.DerivativeModel(keras_inr.SIREN(1, width=32, depth=2, w0=10.0, in_dims=3), terms)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    dataset = losses.OrientedPointCloud(points, normals, batch_size=256, steps_per_epoch=20, seed=1)
    history = model.fit(dataset, epochs=3, verbose=0).history
    assert set(history) == {"loss", "surface_loss", "normal_loss", "eikonal_loss", "off_surface_loss"}
    assert history["loss"][-1] < history["loss"][0]
    path = tmp_path / "sdf.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, losses.DerivativeModel)
    assert [term.get_config() for term in loaded.loss_terms] == [term.get_config() for term in terms]
    x = _points(32, 3)
    np.testing.assert_allclose(to_numpy(loaded.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)),
                               atol=1e-6)


def test_sdf_terms_of_an_exact_sphere_distance():
    """|x| - r: zero surface term, no normal error, unit gradient, exp(-alpha |f|) off the surface."""
    points, normals = _sphere(64)
    off = _points(64, 3, seed=3)
    x = np.concatenate([points, off])
    field = differential.derivatives(lambda c: keras.ops.norm(c, axis=-1, keepdims=True) - 0.5, x)
    field["coordinates"] = x
    targets = {"normals": np.concatenate([normals, np.zeros_like(off)]),
               "on_surface": np.concatenate([np.ones((64, 1)), np.zeros((64, 1))]).astype("float32")}
    surface, normal, eikonal, off_surface = (to_numpy(term(field, targets)) for term in losses.sdf_losses())
    assert np.abs(surface).max() < 1e-2 and np.abs(normal).max() < 1e-4 and np.abs(eikonal).max() < 1e-4
    distance = np.abs(np.linalg.norm(off, axis=1) - 0.5)
    np.testing.assert_allclose(off_surface[64:], 1e2 * np.exp(-100 * distance), rtol=1e-3, atol=1e-6)
    assert np.all(off_surface[:64] == 0)


def test_terms_per_point_masks_and_serialisation():
    ops = keras.ops
    values = np.array([[1.0, 2.0], [0.0, -1.0]], "float32")
    jacobian = np.array([[[3.0, 4.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 0.0]]], "float32")
    field = {"values": ops.convert_to_tensor(values), "jacobian": ops.convert_to_tensor(jacobian),
             "laplacian": ops.convert_to_tensor(values * 2)}
    targets = {"values": np.zeros((2, 2), "float32"), "mask": np.array([[1.0], [0.0]], "float32"),
               "gradients": np.zeros((2, 2, 2), "float32"), "laplacian": np.ones((2, 2), "float32")}
    np.testing.assert_allclose(to_numpy(losses.ValueLoss(2.0)(field, targets)), [5.0, 1.0])
    np.testing.assert_allclose(to_numpy(losses.ValueLoss(mask="mask")(field, targets)), [2.5, 0.0])
    np.testing.assert_allclose(to_numpy(losses.GradientLoss()(field, targets)), [13.0, 0.5])
    np.testing.assert_allclose(to_numpy(losses.LaplacianLoss()(field, targets)), [5.0, 5.0])
    np.testing.assert_allclose(to_numpy(losses.EikonalLoss()(field, targets)), [2.0, 0.5], atol=1e-5)
    scalar = {"jacobian": field["jacobian"][:, :1]}  # (N, 1, 2): a scalar field's gradient target may be (N, 2)
    np.testing.assert_allclose(
        to_numpy(losses.GradientLoss()(scalar, {"gradients": np.array([[3.0, 0.0], [1.0, 1.0]], "float32")})),
        [16.0, 1.0],
    )
    for term in [losses.ValueLoss(0.5, mask="mask", name="masked"), losses.GradientLoss(target="g"),
                 *losses.sdf_losses(surface=1.0, alpha=10.0)]:
        restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(term))
        assert type(restored) is type(term) and restored.get_config() == term.get_config()


# --- bad input -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda m, v: differential.jacobian(m, _points(4, 3)), "coordinates"),
        (lambda m, v: differential.jacobian(m, np.zeros(2, "float32")), "coordinates"),
        (lambda m, v: differential.laplacian(m, np.array([["a", "b"]])), "coordinates"),
        (lambda m, v: differential.gradient(v, _points(4, 2)), "model"),
        (lambda m, v: differential.gradient(lambda c: keras.ops.concatenate([c, c], -1), _points(4, 2)), "model"),
        (lambda m, v: differential.divergence(m, _points(4, 2)), "model"),
        (lambda m, v: differential.jacobian("siren", _points(4, 2)), "model"),
    ],
)
def test_bad_input_names_the_argument(call, argument):
    scalar = keras_inr.SIREN(1, width=4, depth=1, in_dims=2)
    vector = keras_inr.SIREN(3, width=4, depth=1, in_dims=2)
    with pytest.raises(ValueError, match=f"`{argument}`"):
        call(scalar, vector)


def test_bad_loss_setup_names_the_argument():
    inr = keras_inr.SIREN(1, width=4, depth=1, in_dims=2)
    with pytest.raises(ValueError, match="`inr`"):
        losses.DerivativeModel("siren", [losses.ValueLoss()])
    with pytest.raises(ValueError, match="`losses`"):
        losses.DerivativeModel(inr, [])
    with pytest.raises(ValueError, match="`losses`"):
        losses.DerivativeModel(inr, [losses.ValueLoss(), losses.ValueLoss()])
    with pytest.raises(ValueError, match="`losses`"):
        losses.DerivativeModel(inr, ["mse"])
    with pytest.raises(ValueError, match="`weight`"):
        losses.GradientLoss(weight=-1.0)
    with pytest.raises(ValueError, match="`target`"):
        losses.EikonalLoss(target="values")
    with pytest.raises(ValueError, match="`normals`"):
        losses.OrientedPointCloud(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="`batch_size`"):
        losses.OrientedPointCloud(np.zeros((4, 3)), np.ones((4, 3)), batch_size=5)
    with pytest.raises(ValueError, match="targets"):
        losses.full_batch_targets(np.zeros((4, 2)), {"gradients": np.zeros((3, 2))}, steps=1)


def test_missing_target_names_y():
    model = losses.DerivativeModel(keras_inr.SIREN(1, width=4, depth=1, in_dims=3), losses.sdf_losses())
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="`y` has no \\['normals'\\]"):
        model.fit(_points(8, 3), {"on_surface": np.ones((8, 1), "float32")}, epochs=1, verbose=0)
