"""keras_inr.distribution: training on several devices with keras.distribution (JAX) and tf.distribute (TensorFlow).

The multi-device checks run in a subprocess, so the rest of the suite keeps its single device: on JAX (in the JAX
session of the suite) with two virtual CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count=2``), on
TensorFlow (in its session) with two logical CPU devices under a ``tf.distribute.MirroredStrategy``. Each checks that
the same fit on 1 and on 2 devices gives the same losses, that batches are split and weights replicated, that a batch
that does not divide over the devices is a clear error, and that ``keras-inr fit --data-parallel`` runs. On PyTorch the
tests check the clear error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import keras
import numpy as np
import pytest

import keras_inr
from keras_inr import cli
from keras_inr.distribution import check_backend, check_batch_size, replicas, resolve_distribution

BACKEND = keras.backend.backend()

#: Run in a fresh JAX process with two CPU devices; prints one JSON line of results.
TWO_DEVICES = textwrap.dedent(
    """
    import contextlib, io, json, os, sys
    import numpy as np
    import keras, jax
    import keras_inr, hypernets
    from keras_inr import cli
    from keras_inr.training import compile_inr, full_batch
    from keras_inr.data import coordinate_grid

    out = {"devices": len(jax.devices())}
    rng = np.random.default_rng(0)
    image = rng.random((16, 16, 1)).astype("float32")
    common = dict(family="siren", steps=12, steps_per_epoch=4, width=16, depth=2, learning_rate=1e-3, seed=3)

    # 1. fit_signal: one device vs data-parallel on two, same seed
    one = keras_inr.fit_signal(image, **common)
    two = keras_inr.fit_signal(image, distribution="data_parallel", **common)
    out["fit_loss"] = [one.history.history["loss"], two.history.history["loss"]]
    out["fit_psnr"] = [one.psnr, two.psnr]
    weight = two.model.trainable_variables[0].value
    out["weights_devices"] = len(weight.sharding.device_set)
    out["weights_replicated"] = bool(weight.sharding.is_fully_replicated)
    pixels = keras_inr.fit_signal(image, batch_size=64, distribution="data_parallel", **common)
    out["pixel_batches_loss"] = pixels.history.history["loss"]

    # 2. indivisible batches: an odd pixel count, an odd batch_size
    errors = []
    for kwargs in ({"signal": rng.random((15, 15)).astype("float32")}, {"signal": image, "batch_size": 101}):
        try:
            keras_inr.fit_signal(distribution="data_parallel", **{**common, **kwargs})
            errors.append(None)
        except ValueError as error:
            errors.append(str(error))
    out["indivisible"] = errors

    # 3. the batch reaches the step split over the devices
    seen = []

    def axes(sharding):  # a sharding's partition spec as a list (None: replicated axis); [] for one device
        return [None if a is None else str(a) for a in getattr(sharding, "spec", ())]

    class Probe(keras.layers.Layer):
        def call(self, x):
            jax.debug.inspect_array_sharding(x, callback=lambda s: seen.append(axes(s)))
            return x

    with keras_inr.distribution.data_parallel().scope():
        model = keras.Sequential([keras.Input((2,)), Probe(), keras_inr.SIREN(out_dims=1, width=16, depth=2)])
        compile_inr(model, 1e-3, "constant")
        model.fit(full_batch(coordinate_grid((16, 16)), image.reshape(-1, 1), 2), verbose=0, shuffle=False)
    out["inr_batch_spec"] = seen[-1]

    # 4. HyperINR (custom stateless JAX train step), 1 vs 2 devices, dataset and grid-array input
    images = rng.random((8, 8, 8, 1)).astype("float32")

    def hyper(distribution):
        keras.utils.set_random_seed(0)
        seen.clear()
        with distribution.scope() if distribution else contextlib.nullcontext():
            encoder = keras.Sequential([Probe(), keras.layers.Flatten(), keras.layers.Dense(16)])
            model = hypernets.HyperINR(encoder, keras_inr.SIREN(out_dims=1, width=16, depth=2), head="shift",
                                       points_per_step=32, seed=1)
            model.compile(optimizer=keras.optimizers.Adam(1e-3))
            first = model.fit(hypernets.ImageFieldDataset(images, 16, batch_size=4, seed=0), epochs=2, verbose=0)
            second = model.fit(images, images, batch_size=4, epochs=2, verbose=0, shuffle=False)
            weight = model.trainable_variables[0].value
        return (first.history["loss"] + second.history["loss"], seen[-1],
                len(weight.sharding.device_set), bool(weight.sharding.is_fully_replicated))

    out["hyper_one"] = hyper(None)
    out["hyper_two"] = hyper(keras_inr.distribution.data_parallel())

    # 5. ModelParallel: hidden kernels split by columns over the two devices
    layouts = {".*hidden_.*/kernel": (None, "model")}
    sharded = keras_inr.fit_signal(image, distribution=keras_inr.distribution.model_parallel(layouts), **common)
    out["model_parallel_loss"] = sharded.history.history["loss"]
    out["model_parallel_specs"] = [axes(v.value.sharding) for v in sharded.model.trainable_variables]

    # 6. the CLI switch (a 16x16 sample, then one of 15x15 pixels, which does not divide over two devices)
    codes, texts = [], []
    for size in ("16", "15"):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            codes.append(cli.main(["fit", "camera", "--size", size, "--steps", "4", "--width", "16", "--depth", "2",
                                   "--verbose", "0", "--data-parallel", "--out", os.path.join(sys.argv[1], size)]))
        texts.append(stdout.getvalue() + stderr.getvalue())
    out["cli"] = [codes, texts]

    # 7. a tf.distribute strategy is TensorFlow's: refused on JAX
    import tensorflow as tf
    try:
        keras_inr.fit_signal(image, distribution=tf.distribute.get_strategy(), **common)
        out["tf_strategy_on_jax"] = None
    except ValueError as error:
        out["tf_strategy_on_jax"] = str(error)
    print("RESULT " + json.dumps(out))
    """
)

#: Run in a fresh TensorFlow process with two logical CPU devices; prints one JSON line of results.
TF_TWO_DEVICES = textwrap.dedent(
    """
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]  # two logical CPU devices, before anything else uses TensorFlow
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import contextlib, io, json, os, sys
    from pathlib import Path
    import numpy as np
    import keras
    import keras_inr
    from keras_inr import cli
    from keras_inr.data import coordinate_grid
    from keras_inr.training import compile_inr, full_batch

    folder = Path(sys.argv[1])
    out = {"devices": keras_inr.distribution.device_count()}
    rng = np.random.default_rng(0)
    image = rng.random((16, 16, 1)).astype("float32")
    common = dict(family="siren", steps=8, steps_per_epoch=4, width=16, depth=2, learning_rate=1e-3, seed=3)

    # 1. fit_signal: one device vs MirroredStrategy on two, same seed; full batch (tf.data) and pixel batches
    one = keras_inr.fit_signal(image, **common)
    two = keras_inr.fit_signal(image, distribution="data_parallel", out=folder / "two", save_every=1, **common)
    out["fit_loss"] = [one.history.history["loss"], two.history.history["loss"]]
    out["fit_psnr"] = [one.psnr, two.psnr]
    out["render_difference"] = float(np.abs(one.reconstruction - two.reconstruction).max())
    out["render_shape"] = list(two.reconstruction.shape)
    out["replicas"] = two.model.distribute_strategy.num_replicas_in_sync
    out["variable"] = type(two.model.trainable_variables[0].value).__name__
    saved = keras.saving.load_model(two.files["model"])
    out["saved_difference"] = float(np.abs(keras_inr.render(saved, (16, 16)) - two.reconstruction).max())
    out["snapshots"] = len(list((folder / "two" / "snapshots").iterdir()))
    pixels = [keras_inr.fit_signal(image, batch_size=64, **kwargs, **common).history.history["loss"]
              for kwargs in ({}, {"distribution": "data_parallel"})]
    out["pixel_batches_loss"] = pixels

    # 2. a user's strategy: as the argument, and as an open scope (distribution=None)
    strategy = tf.distribute.MirroredStrategy(["CPU:0", "CPU:1"])
    given = keras_inr.fit_signal(image, distribution=strategy, **common)
    with strategy.scope():
        scoped = keras_inr.fit_signal(image, **common)
    out["user_strategy"] = [given.history.history["loss"], given.model.distribute_strategy is strategy,
                            scoped.history.history["loss"], scoped.model.distribute_strategy is strategy]

    # 3. the full-batch tf.data dataset reaches the step split into one half per replica
    coordinates, values = coordinate_grid((16, 16)), image.reshape(-1, 1)
    element = next(iter(strategy.experimental_distribute_dataset(full_batch(coordinates, values, 2))))
    out["split_shapes"] = [list(part.shape) for part in strategy.experimental_local_results(element[0])]
    seen = []

    class Probe(keras.layers.Layer):
        def call(self, x):
            seen.append(x.shape[0])  # the traced (per-replica) batch
            return x

    with strategy.scope():
        model = keras.Sequential([keras.Input((2,)), Probe(), keras_inr.SIREN(out_dims=1, width=16, depth=2)])
        compile_inr(model, 1e-3, "constant")
        keras_inr.distribution.prepare_model(model)
    model.fit(full_batch(coordinates, values, 2), verbose=0, shuffle=False)
    out["probe_batch"] = seen[-1]
    out["by_hand_render"] = list(keras_inr.render(model, (16, 16)).shape)
    with strategy.scope():  # the same without prepare_model: render prepares the model itself
        plain = keras_inr.SIREN(out_dims=1, width=16, depth=2, in_dims=2)
        compile_inr(plain, 1e-3, "constant")
    plain.fit(full_batch(coordinates, values, 2), verbose=0, shuffle=False)
    out["render_without_prepare"] = list(keras_inr.render(plain, (16, 16)).shape)
    out["render_twice_equal"] = bool(np.array_equal(keras_inr.render(plain, (16, 16)),
                                                    keras_inr.render(plain, (16, 16))))

    # 4. indivisible batches (an odd pixel count, an odd batch_size) and too many devices
    errors = []
    for kwargs in ({"signal": rng.random((15, 15)).astype("float32")}, {"signal": image, "batch_size": 101}):
        try:
            keras_inr.fit_signal(distribution="data_parallel", **{**common, **kwargs})
            errors.append(None)
        except ValueError as error:
            errors.append(str(error))
    try:
        keras_inr.distribution.mirrored_strategy(3)
        errors.append(None)
    except ValueError as error:
        errors.append(str(error))
    out["errors"] = errors

    # 5. the CLI switch (a 16x16 sample, then one of 15x15 pixels, which does not divide over two devices)
    codes, texts = [], []
    for size in ("16", "15"):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            codes.append(cli.main(["fit", "camera", "--size", size, "--steps", "4", "--width", "16", "--depth", "2",
                                   "--verbose", "0", "--data-parallel", "--out", str(folder / size)]))
        texts.append(stdout.getvalue() + stderr.getvalue())
    out["cli"] = [codes, texts]

    # 6. interrupted after the first epoch, then resumed from the backup of the mirrored weights and optimiser state
    class Interrupt(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            raise KeyboardInterrupt

    try:
        keras_inr.fit_signal(image, distribution="data_parallel", out=folder / "resume", callbacks=[Interrupt()],
                             **common)
    except KeyboardInterrupt:
        pass
    resumed = keras_inr.fit_signal(image, distribution="data_parallel", out=folder / "resume", resume=True, **common)
    out["resumed"] = [resumed.initial_epoch, resumed.history.history["loss"], resumed.psnr]

    # 7. HyperINR refuses a model made under the strategy (its TensorFlow step fails in the all-reduce) before Keras
    import hypernets

    with strategy.scope():
        hyper = hypernets.HyperINR(keras.Sequential([keras.layers.Flatten(), keras.layers.Dense(16)]),
                                   keras_inr.SIREN(out_dims=1, width=16, depth=2), head="shift", points_per_step=None)
        hyper.compile(optimizer=keras.optimizers.Adam(1e-3))
    faces = rng.random((8, 8, 8, 1)).astype("float32")
    refusals = []
    for call in (lambda: hyper.fit(faces, faces, batch_size=4, verbose=0), lambda: hyper.evaluate(faces, faces)):
        try:
            call()
            refusals.append(None)
        except ValueError as error:
            refusals.append(str(error))
    out["hyper_refusals"] = refusals
    print("RESULT " + json.dumps(out))
    """
)


def _run(script: str, env: dict, folder) -> dict:
    """Run ``script`` in a fresh Python with ``env``; return the JSON it prints on its ``RESULT`` line."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder)], env=env, capture_output=True, text=True, timeout=900
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert result.returncode == 0 and lines, result.stdout[-3000:] + result.stderr[-3000:]
    return json.loads(lines[-1][len("RESULT "):])


@pytest.fixture(scope="module")
def two_devices(tmp_path_factory) -> dict:
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip(),
    }
    return _run(TWO_DEVICES, env, tmp_path_factory.mktemp("two_devices"))


@pytest.fixture(scope="module")
def tf_two_devices(tmp_path_factory) -> dict:
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "CUDA_VISIBLE_DEVICES": ""}
    return _run(TF_TWO_DEVICES, env, tmp_path_factory.mktemp("tf_two_devices"))


jax_only = pytest.mark.skipif(BACKEND != "jax", reason="the two-device subprocess runs once, in the JAX session")
tensorflow_only = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="the TensorFlow two-device subprocess runs once, in the TensorFlow session"
)


@jax_only
def test_fit_signal_data_parallel_matches_one_device(two_devices):
    assert two_devices["devices"] == 2
    one, two = two_devices["fit_loss"]
    assert len(one) == len(two) == 3
    np.testing.assert_allclose(two, one, rtol=1e-4)
    assert one[-1] < one[0]  # it trained
    np.testing.assert_allclose(*two_devices["fit_psnr"], atol=1e-2)
    assert two_devices["weights_devices"] == 2 and two_devices["weights_replicated"]
    assert len(two_devices["pixel_batches_loss"]) == 3 and np.all(np.isfinite(two_devices["pixel_batches_loss"]))


@jax_only
def test_batch_is_sharded_over_the_devices(two_devices):
    assert two_devices["inr_batch_spec"] == ["batch"]


@jax_only
def test_indivisible_batch_is_a_clear_error(two_devices):
    full, random = two_devices["indivisible"]
    assert full is not None and "`batch_size`=225" in full and "15x15" in full and "2 devices" in full
    assert "224 or 226" in full
    assert random is not None and "`batch_size`=101" in random and "100 or 102" in random


@jax_only
def test_hyperinr_data_parallel_matches_one_device(two_devices):
    one_loss, one_spec, one_devices, _ = two_devices["hyper_one"]
    two_loss, two_spec, two_devices_count, replicated = two_devices["hyper_two"]
    np.testing.assert_allclose(two_loss, one_loss, rtol=1e-4)
    assert one_devices == 1 and two_devices_count == 2 and replicated
    assert "batch" not in one_spec and two_spec == ["batch"]


@tensorflow_only
def test_hyperinr_refuses_a_tensorflow_strategy_of_several_replicas(tf_two_devices):
    refusals = tf_two_devices["hyper_refusals"]
    assert all(text is not None and "tf.distribute strategy of 2 replicas" in text and "JAX" in text
               for text in refusals), refusals


@jax_only
def test_model_parallel_shards_the_hidden_kernels(two_devices):
    np.testing.assert_allclose(two_devices["model_parallel_loss"], two_devices["fit_loss"][0], rtol=1e-4)
    specs = two_devices["model_parallel_specs"]  # hidden_0 kernel, bias, hidden_1 kernel, bias, output kernel, bias
    assert specs[0] == specs[2] == [None, "model"]
    assert all("model" not in spec for spec in specs[1::2] + specs[4:])


@jax_only
def test_cli_data_parallel(two_devices):
    (ok, bad), (ok_text, bad_text) = two_devices["cli"]
    assert ok == 0, ok_text
    assert "PSNR" in ok_text
    assert bad == 2 and "--batch-size=225" in bad_text and "2 devices" in bad_text


@jax_only
def test_tf_strategy_is_refused_on_jax(two_devices):
    message = two_devices["tf_strategy_on_jax"]
    assert message is not None and "tf.distribute.Strategy" in message and "'jax'" in message


@tensorflow_only
def test_tf_fit_signal_mirrored_matches_one_device(tf_two_devices):
    result = tf_two_devices
    assert result["devices"] == 2 and result["replicas"] == 2  # both logical devices, one replica each
    assert result["variable"] == "MirroredVariable"
    one, two = result["fit_loss"]
    assert len(one) == len(two) == 2 and one[-1] < one[0]  # it trained
    np.testing.assert_allclose(two, one, rtol=1e-4)
    np.testing.assert_allclose(*result["fit_psnr"], atol=1e-2)
    # rendering (predict_on_batch) returns one row per pixel, not one copy per replica
    assert result["render_shape"] == [16, 16, 1] and result["render_difference"] < 1e-3
    assert result["saved_difference"] < 1e-5 and result["snapshots"] == 2
    one_pixels, two_pixels = result["pixel_batches_loss"]
    np.testing.assert_allclose(two_pixels, one_pixels, rtol=1e-4)


@tensorflow_only
def test_tf_resume_under_a_strategy(tf_two_devices):
    initial_epoch, losses, psnr = tf_two_devices["resumed"]
    assert initial_epoch == 1  # the backup of the first epoch was restored
    np.testing.assert_allclose(losses, tf_two_devices["fit_loss"][1][1:], rtol=1e-4)  # as if never interrupted
    np.testing.assert_allclose(psnr, tf_two_devices["fit_psnr"][1], atol=1e-2)


@tensorflow_only
def test_tf_user_strategy(tf_two_devices):
    given, given_kept, scoped, scoped_kept = tf_two_devices["user_strategy"]
    np.testing.assert_allclose(given, tf_two_devices["fit_loss"][0], rtol=1e-4)
    np.testing.assert_allclose(scoped, tf_two_devices["fit_loss"][0], rtol=1e-4)
    assert given_kept and scoped_kept


@tensorflow_only
def test_tf_full_batch_is_split_per_replica(tf_two_devices):
    assert tf_two_devices["split_shapes"] == [[128, 2], [128, 2]]
    assert tf_two_devices["probe_batch"] == 128
    assert tf_two_devices["by_hand_render"] == [16, 16, 1]  # prepare_model: one copy of the output
    assert tf_two_devices["render_without_prepare"] == [16, 16, 1]  # render calls prepare_model itself
    assert tf_two_devices["render_twice_equal"]


@tensorflow_only
def test_tf_indivisible_batch_is_a_clear_error(tf_two_devices):
    full, random, devices = tf_two_devices["errors"]
    assert full is not None and "`batch_size`=225" in full and "15x15" in full and "2 devices" in full
    assert "224 or 226" in full
    assert random is not None and "`batch_size`=101" in random and "100 or 102" in random
    assert devices is not None and "`devices`=3" in devices and "2 device(s)" in devices


@tensorflow_only
def test_tf_cli_data_parallel(tf_two_devices):
    (ok, bad), (ok_text, bad_text) = tf_two_devices["cli"]
    assert ok == 0, ok_text
    assert "PSNR" in ok_text
    assert bad == 2 and "--batch-size=225" in bad_text and "2 devices" in bad_text


def test_check_batch_size():
    two = SimpleNamespace(num_model_replicas=2)
    assert replicas(two) == 2 and check_batch_size(64, two) == 64
    strategy = SimpleNamespace(num_replicas_in_sync=2)  # a tf.distribute.Strategy's count
    assert replicas(strategy) == 2 and check_batch_size(64, strategy) == 64
    with pytest.raises(ValueError, match=r"`batch_size`=63 .*2 devices"):
        check_batch_size(63, strategy)
    with pytest.raises(ValueError, match=r"`batch_size`=63 .*2 devices.*62 or 64"):
        check_batch_size(63, two)
    with pytest.raises(ValueError, match=r"`batch_size`=3 \(the image\).*4 devices.*e\.g\. 4\."):
        check_batch_size(3, SimpleNamespace(num_model_replicas=4), what="the image")
    with pytest.raises(ValueError, match="batch_size"):
        check_batch_size(0, two)
    assert replicas() == 1 and check_batch_size(7) == 7  # no current distribution: nothing to divide


@pytest.mark.skipif(BACKEND == "jax", reason="keras.distribution runs on JAX")
def test_keras_distribution_needs_jax():
    with pytest.raises(ValueError, match=f"needs the JAX backend; the active backend is '{BACKEND}'"):
        keras_inr.distribution.data_parallel()
    if BACKEND == "tensorflow":  # what TensorFlow offers instead is named
        with pytest.raises(ValueError, match="mirrored_strategy"):
            keras_inr.distribution.data_parallel()


@pytest.mark.skipif(BACKEND != "torch", reason="JAX and TensorFlow train on several devices")
def test_torch_says_why_not(tmp_path, capsys):
    with pytest.raises(ValueError, match="no distribution backend for PyTorch"):
        resolve_distribution("data_parallel")
    with pytest.raises(ValueError, match="JAX backend"):
        keras_inr.fit_signal(np.zeros((4, 4)), steps=1, width=4, depth=1, distribution="data_parallel")
    code = cli.main(["fit", "camera", "--size", "8", "--steps", "1", "--width", "4", "--depth", "1",
                     "--verbose", "0", "--data-parallel", "--out", str(tmp_path / "run")])
    assert code == 2 and "no distribution backend for PyTorch" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "seed, message",
    [(2**32, r"`seed` must be an integer in \[0, 2\*\*32 - 1\], got 4294967296"),
     (-1, "`seed` must be a non-negative integer"), (1.5, "`seed` must be an integer"),
     (True, "`seed` must be an integer"), ("0", "`seed` must be an integer")],
)
def test_fit_signal_seed_is_checked(seed, message):
    with pytest.raises(ValueError, match=message):
        keras_inr.fit_signal(np.zeros((4, 4)), steps=1, width=4, depth=1, seed=seed)


def test_bad_distribution_argument():
    with pytest.raises(ValueError, match="`distribution` must be None, one of"):
        resolve_distribution("model_parallel")
    with pytest.raises(ValueError, match="`distribution` must be None, one of"):
        keras_inr.fit_signal(np.zeros((4, 4)), steps=1, width=4, depth=1, distribution=3)
    if BACKEND != "tensorflow":
        with pytest.raises(ValueError, match="needs KERAS_BACKEND=tensorflow"):
            keras_inr.distribution.mirrored_strategy()
    else:
        for devices in (["GPU:7"], ["bogus"], [3], "CPU:0"):
            with pytest.raises(ValueError, match="`devices` must"):
                keras_inr.distribution.mirrored_strategy(devices)
        with pytest.raises(ValueError, match="`devices`=5 but only 1 device"):
            keras_inr.distribution.mirrored_strategy(5)
        assert keras_inr.distribution.mirrored_strategy(["CPU:0"]).num_replicas_in_sync == 1
    if BACKEND == "jax":
        assert check_backend() == "jax"
        with pytest.raises(ValueError, match="`devices`=5 but only 1 device"):
            keras_inr.distribution.data_parallel(5)
        with pytest.raises(ValueError, match="`model_devices`=2 must divide"):
            keras_inr.distribution.model_parallel({".*kernel": (None, "model")})
        assert keras_inr.distribution.data_parallel().num_model_replicas == 1
