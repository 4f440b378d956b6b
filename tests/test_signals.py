"""Continuous signals (keras_inr.signals): n-linear and nearest interpolation in 1-D, 2-D and 3-D with numpy and
keras.ops, signal objects, loaders and writers (.npy, WAV, GIF, folders of frames), rendering, metrics, figures,
callbacks, and bad input named."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from scipy.interpolate import RegularGridInterpolator

from keras_inr import signals
from keras_inr.data import coordinate_grid
from tests.conftest import to_numpy

SHAPES = [(9,), (5, 7), (4, 5, 6)]


def _array(shape, channels=2, seed=0):
    return np.random.default_rng(seed).normal(size=(*shape, channels)).astype(np.float32)


def _reference(array, points, method):
    axes = [np.linspace(-1.0, 1.0, size) for size in array.shape[:-1]]
    return RegularGridInterpolator(axes, array.astype(np.float64), method=method)(points.astype(np.float64))


def test_interpolation_is_exact_at_grid_points_in_1d_2d_3d():
    for shape, method in ((shape, method) for shape in SHAPES for method in signals.METHODS):
        array = _array(shape)
        grid = coordinate_grid(shape)
        values = signals.interpolate(array, grid, method)
        assert values.dtype == np.float32 and values.shape == (grid.shape[0], 2)
        np.testing.assert_array_equal(values, array.reshape(-1, 2))  # numpy: exactly the samples
        tensor = signals.interpolate(keras.ops.convert_to_tensor(array), keras.ops.convert_to_tensor(grid), method)
        np.testing.assert_allclose(to_numpy(tensor), array.reshape(-1, 2), atol=2e-6)


@pytest.mark.parametrize("method", signals.METHODS)
def test_interpolation_matches_scipy_between_grid_points_in_1d_2d_3d(method):
    for shape in SHAPES:
        array = _array(shape, seed=1)
        points = np.random.default_rng(2).uniform(-1, 1, size=(200, len(shape))).astype(np.float32)
        reference = _reference(array, points, method)
        np.testing.assert_allclose(signals.interpolate(array, points, method), reference, atol=1e-6, err_msg=shape)
        tensor = signals.interpolate(array, keras.ops.convert_to_tensor(points), method)  # keras.ops path
        assert keras.ops.is_tensor(tensor)
        np.testing.assert_allclose(to_numpy(tensor), reference, atol=3e-6, err_msg=str(shape))


def test_linear_interpolation_by_hand_clamping_and_size_one_axes():
    audio = np.array([[0.0], [1.0], [0.0]], dtype=np.float32)  # samples at t = -1, 0, 1
    at = np.array([[-0.5], [0.25], [1.0], [-3.0], [7.0]], dtype=np.float32)
    np.testing.assert_allclose(signals.interpolate(audio, at)[:, 0], [0.5, 0.75, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(signals.interpolate(audio, at, "nearest")[:, 0], [1.0, 1.0, 0.0, 0.0, 0.0])
    row = np.array([[[0.0], [2.0]]], dtype=np.float32)  # (1, 2, 1): constant along the first axis
    points = np.array([[-1.0, 0.0], [0.7, 0.0], [1.0, 1.0]], dtype=np.float32)
    np.testing.assert_allclose(signals.interpolate(row, points)[:, 0], [1.0, 1.0, 2.0])
    np.testing.assert_allclose(to_numpy(signals.interpolate(row, keras.ops.convert_to_tensor(points)))[:, 0],
                               [1.0, 1.0, 2.0], atol=1e-6)


class _Lookup(keras.layers.Layer):
    """A layer interpolating a fixed volume at its inputs: interpolation inside a compiled predict step."""

    def __init__(self, signal, **kwargs):
        super().__init__(**kwargs)
        self.signal = signal

    def call(self, coordinates):
        return self.signal(coordinates)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.signal.out_dims)


@pytest.mark.parametrize("method", signals.METHODS)
def test_interpolation_runs_inside_a_compiled_step(method):
    volume = _array((4, 5, 6), channels=3, seed=3)
    signal = signals.ArraySignal(volume, method=method)
    inputs = keras.Input((3,))
    model = keras.Model(inputs, _Lookup(signal)(inputs))
    points = np.random.default_rng(4).uniform(-1, 1, size=(64, 3)).astype(np.float32)
    predicted = model.predict(points, batch_size=32, verbose=0)  # traced (jit / tf.function) on JAX and TensorFlow
    np.testing.assert_allclose(predicted, signal(points), atol=3e-6)
    eager = signal(keras.ops.convert_to_tensor(points))  # and eagerly afterwards (nothing kept from the trace)
    np.testing.assert_allclose(to_numpy(eager), predicted, atol=3e-6)


def test_gradients_flow_through_interpolation_in_a_compiled_train_step():
    ramp = np.linspace(-1, 1, 5, dtype=np.float32)[:, None]  # interpolating this ramp is the identity on [-1, 1]
    inputs = keras.Input((1,))
    scale = keras.layers.Dense(1, use_bias=False, kernel_initializer=keras.initializers.Constant(0.2))
    model = keras.Model(inputs, _Lookup(signals.ArraySignal(ramp))(scale(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
    model.fit(x, 0.6 * x, epochs=20, batch_size=64, verbose=0)  # d loss / d kernel goes through the interpolation
    assert float(to_numpy(scale.kernel)[0, 0]) == pytest.approx(0.6, abs=0.01)


def test_array_and_function_signals():
    image = _array((6, 8), channels=3)
    signal = signals.ArraySignal(image)
    assert (signal.in_dims, signal.out_dims, signal.shape) == (2, 3, (6, 8))
    np.testing.assert_array_equal(signal(coordinate_grid((6, 8))), image.reshape(-1, 3))
    assert signals.as_signal(signal) is signal and isinstance(signals.as_signal(image), signals.ArraySignal)

    rings = signals.FunctionSignal(lambda x: np.cos(5 * np.linalg.norm(x, axis=-1)), in_dims=2)  # (N,) -> (N, 1)
    assert rings.out_dims == 1
    points = np.random.default_rng(0).uniform(-1, 1, (10, 2)).astype(np.float32)
    np.testing.assert_allclose(rings(points)[:, 0], np.cos(5 * np.linalg.norm(points, axis=-1)), rtol=1e-6)

    def waves(x):  # keras.ops: serves numpy and tensors
        return keras.ops.concatenate([keras.ops.sin(3 * x[:, :1]), keras.ops.cos(2 * x[:, 1:])], axis=-1)

    signal = signals.as_signal(waves, in_dims=2)
    assert signal.out_dims == 2 and signal(points).dtype == np.float32
    np.testing.assert_allclose(to_numpy(signal(keras.ops.convert_to_tensor(points))), signal(points), atol=1e-6)


BAD_INPUT = [
    (lambda: signals.interpolate(np.zeros((4, 1)), np.zeros((3, 2))), r"coordinates.*\(N, 1\)"),
    (lambda: signals.interpolate(np.zeros((4, 4, 1)), np.zeros((3,))), "coordinates"),
    (lambda: signals.interpolate(np.zeros((4, 1)), keras.ops.zeros((3, 2))), "coordinates"),
    (lambda: signals.interpolate(np.zeros((0, 1)), np.zeros((3, 1))), "`array` is empty"),
    (lambda: signals.interpolate(np.full((4, 1), np.nan), np.zeros((3, 1))), "`array` contains 4 NaN"),
    (lambda: signals.interpolate(np.zeros((4, 1)), np.full((3, 1), np.nan)), "`coordinates` contains 3 NaN"),
    (lambda: signals.interpolate(np.zeros(4), np.zeros((3, 1))), r"`array`.*channel axis"),
    (lambda: signals.interpolate(np.zeros((4, 1)), np.zeros((3, 1)), "cubic"), "method"),
    (lambda: signals.ArraySignal(np.zeros((4, 1), complex)), "real"),
    (lambda: signals.FunctionSignal("sin", in_dims=1), "function"),
    (lambda: signals.FunctionSignal(np.sin, in_dims=0), "in_dims"),
    (lambda: signals.FunctionSignal(lambda x: x[:1], in_dims=2), "function"),
    (lambda: signals.FunctionSignal(lambda x: x * np.nan, in_dims=1)(np.zeros((2, 1))), "NaN"),
    (lambda: signals.as_signal(np.sin), "in_dims"),
    (lambda: signals.as_signal("camera"), "target"),
    (lambda: signals.ArraySignal(np.zeros((4, 1)))(np.zeros((3, 2))), r"\(N, 1\)"),
]


def test_bad_input_is_named():
    for index, (call, message) in enumerate(BAD_INPUT):
        with pytest.raises(ValueError, match=message):
            call()
            pytest.fail(f"case {index} ({message!r}) raised nothing")


# --- loading and writing -----------------------------------------------------------------------------------------
def test_npy_round_trip_and_errors(tmp_path):
    array = _array((3, 4), channels=1)
    signals.save_signal(tmp_path / "a.npy", array)
    np.testing.assert_array_equal(signals.load_array(tmp_path / "a.npy"), array)
    np.testing.assert_array_equal(signals.load_signal(tmp_path / "a.npy"), array)
    np.save(tmp_path / "ints.npy", np.arange(6, dtype=np.int16).reshape(3, 2))
    assert signals.load_array(tmp_path / "ints.npy").dtype == np.float32
    with pytest.raises(FileNotFoundError, match="missing.npy"):
        signals.load_array(tmp_path / "missing.npy")
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="`path`.*not a readable .npy"):
        signals.load_array(tmp_path / "text.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="`path`"):
        signals.load_array(tmp_path / "objects.npy")
    np.save(tmp_path / "nan.npy", np.array([np.nan]))
    with pytest.raises(ValueError, match="NaN"):
        signals.load_array(tmp_path / "nan.npy")
    with pytest.raises(ValueError, match="path"):
        signals.load_array(tmp_path)


@pytest.mark.filterwarnings("ignore::scipy.io.wavfile.WavFileWarning")  # the broken file
def test_wav_round_trip_formats_and_errors(tmp_path):
    from scipy.io import wavfile

    rate = 8000
    tone = (0.5 * np.sin(2 * np.pi * 440 * np.arange(400) / rate)).astype(np.float32)
    signals.write_wav(tmp_path / "tone.wav", tone, rate)
    samples, read_rate = signals.load_wav(tmp_path / "tone.wav")
    assert read_rate == rate and samples.shape == (400, 1) and samples.dtype == np.float32
    np.testing.assert_allclose(samples[:, 0], tone, atol=1 / 32767)
    stereo = np.stack([tone, -tone], axis=-1)
    signals.save_signal(tmp_path / "stereo.wav", stereo, sample_rate=rate)
    assert signals.load_signal(tmp_path / "stereo.wav").shape == (400, 2)
    wavfile.write(tmp_path / "u8.wav", rate, np.array([0, 128, 255], dtype=np.uint8))
    np.testing.assert_allclose(signals.load_wav(tmp_path / "u8.wav")[0][:, 0], [-1.0, 0.0, 127 / 128])
    wavfile.write(tmp_path / "i32.wav", rate, np.array([-(2**31), 0, 2**30], dtype=np.int32))
    np.testing.assert_allclose(signals.load_wav(tmp_path / "i32.wav")[0][:, 0], [-1.0, 0.0, 0.5])
    wavfile.write(tmp_path / "f32.wav", rate, np.array([0.25, -0.5], dtype=np.float32))
    np.testing.assert_allclose(signals.load_wav(tmp_path / "f32.wav")[0][:, 0], [0.25, -0.5])
    with pytest.raises(FileNotFoundError, match="nothing.wav"):
        signals.load_wav(tmp_path / "nothing.wav")
    (tmp_path / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    with pytest.raises(ValueError, match="`path`.*not a readable WAV"):
        signals.load_wav(tmp_path / "broken.wav")
    wavfile.write(tmp_path / "empty.wav", rate, np.zeros(0, dtype=np.int16))
    with pytest.raises(ValueError, match="no audio sample"):
        signals.load_wav(tmp_path / "empty.wav")
    with pytest.raises(ValueError, match="sample_rate"):
        signals.write_wav(tmp_path / "x.wav", tone, 0)
    with pytest.raises(ValueError, match="sample_rate"):
        signals.save_signal(tmp_path / "x.wav", tone)
    with pytest.raises(ValueError, match="samples"):
        signals.write_wav(tmp_path / "x.wav", np.full(3, np.nan), rate)


def _frames(count=5, height=6, width=7, channels=1, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(count, height, width, channels)) / 255.0


def test_gif_round_trip(tmp_path):
    grey = _frames()
    signals.save_gif(tmp_path / "grey.gif", grey, fps=10)
    video = signals.load_video(tmp_path / "grey.gif")
    assert video.shape == grey.shape and video.dtype == np.float32
    np.testing.assert_allclose(video, grey, atol=1e-6)  # grey GIFs are exact
    colour = np.clip(_frames(channels=3, seed=1), 0, 1)
    signals.save_signal(tmp_path / "colour.gif", colour)
    back = signals.load_signal(tmp_path / "colour.gif")
    assert back.shape == colour.shape and np.abs(back - colour).mean() < 0.1  # through a 256-colour palette
    volume = _frames(count=3, height=4, width=5)
    signals.save_gif(tmp_path / "slices.gif", volume, axis=2)  # slices along the last spatial axis
    assert signals.load_video(tmp_path / "slices.gif").shape == (5, 3, 4, 1)


def test_folder_of_frames(tmp_path):
    from PIL import Image

    frames = (_frames(count=12, channels=3) * 255).round().astype(np.uint8)
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame{index}.png")  # frame10 must come after frame9
    (folder / "notes.txt").write_text("ignored")
    video = signals.load_video(folder)
    assert video.shape == (12, 6, 7, 3)
    np.testing.assert_allclose(video, frames / 255.0, atol=1e-6)
    np.testing.assert_array_equal(signals.load_signal(folder), video)
    Image.fromarray(frames[0, :, :, 0]).save(folder / "frame12.png")  # a grey frame joins as RGB
    assert signals.load_video(folder).shape == (13, 6, 7, 3)
    Image.fromarray(frames[0, :4]).save(folder / "frame13.png")
    with pytest.raises(ValueError, match="same size"):
        signals.load_video(folder)


def test_video_loading_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="source"):
        signals.load_video(tmp_path / "missing.gif")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="`source` folder.*no frame"):
        signals.load_video(tmp_path / "empty")
    (tmp_path / "broken.gif").write_bytes(b"GIF89a broken")
    with pytest.raises(ValueError, match="`source`.*not a readable GIF"):
        signals.load_video(tmp_path / "broken.gif")
    (tmp_path / "clip.mp4").write_bytes(b"")
    with pytest.raises(ValueError, match="`source`.*GIF file or a folder"):
        signals.load_video(tmp_path / "clip.mp4")
    bad = tmp_path / "bad_frames"
    bad.mkdir()
    (bad / "0.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="`source` frame"):
        signals.load_video(bad)
    with pytest.raises(ValueError, match="suffix"):
        (tmp_path / "a.xyz").write_text("")
        signals.load_signal(tmp_path / "a.xyz")
    with pytest.raises(ValueError, match="path"):
        signals.save_signal(tmp_path / "a.mp3", np.zeros((3, 1)))
    with pytest.raises(ValueError, match="frames"):
        signals.save_gif(tmp_path / "a.gif", np.zeros((3, 4, 4, 2)))
    with pytest.raises(ValueError, match="fps"):
        signals.save_gif(tmp_path / "a.gif", np.zeros((3, 4, 4)), fps=0)


# --- rendering, metrics, figures, callbacks ---------------------------------------------------------------------
def _model(in_dims, out_dims=1):
    from keras_inr import SIREN

    return SIREN(out_dims, width=8, depth=1, in_dims=in_dims)


def test_render_signal_writes_wav_and_gif(tmp_path):
    audio = signals.render_signal(_model(1), (300,), path=tmp_path / "a.wav", batch_size=128, sample_rate=8000)
    assert audio.shape == (300, 1) and signals.load_wav(tmp_path / "a.wav")[0].shape == (300, 1)
    video = signals.render_signal(_model(3, 3), (4, 5, 6), path=tmp_path / "v.gif", batch_size=50)
    assert video.shape == (4, 5, 6, 3) and signals.load_video(tmp_path / "v.gif").shape[:3] == (4, 5, 6)


def test_snr_and_frame_psnr():
    target = np.sin(np.linspace(0, 20, 1000))
    assert signals.snr(target, target) == float("inf")
    assert signals.snr(target, 0.9 * target) == pytest.approx(20.0)  # error 10 % of the signal: 20 dB
    assert np.isnan(signals.snr(target, np.full_like(target, np.nan)))
    with pytest.raises(ValueError, match="target"):
        signals.snr(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match="prediction"):
        signals.snr(target, target[:5])
    frames = _frames(count=3)
    noisy = frames.copy()
    noisy[1] += 0.1
    values = signals.frame_psnr(frames, noisy)
    assert values.shape == (3,) and values[0] == float("inf") and values[1] == pytest.approx(20.0)


def test_figures(tmp_path):
    target = np.sin(np.linspace(0, 60, 800))[:, None]
    path = signals.save_waveform_plot(tmp_path / "wave.png", target, {"a": 0.9 * target, "b": target + 0.01},
                                      sample_rate=8000, zoom_centre=1.0, title="tones")
    assert path.stat().st_size > 0
    frames = _frames(count=6, channels=3)
    path = signals.save_frames_figure(tmp_path / "frames.png", frames, np.clip(frames + 0.05, 0, 1), title="clip")
    assert path.stat().st_size > 0
    with pytest.raises(ValueError, match="frames"):
        signals.save_frames_figure(tmp_path / "f.png", frames, frames, frames=[6])
    with pytest.raises(ValueError, match="reconstructions"):
        signals.save_waveform_plot(tmp_path / "w.png", target, target[:10], sample_rate=8000)
    with pytest.raises(ValueError, match="zoom_centre"):
        signals.save_waveform_plot(tmp_path / "w.png", target, target, sample_rate=8000, zoom_centre=1.5)


def test_callbacks_for_1d_and_3d(tmp_path):
    from keras_inr.training import compile_inr

    for shape, channels in (((64,), 1), ((3, 4, 5), 3)):
        target = np.random.default_rng(0).uniform(0, 1, (*shape, channels)).astype(np.float32)
        model = compile_inr(_model(len(shape), channels), learning_rate=1e-3, schedule="constant")
        snapshots = signals.SignalSnapshots(shape, tmp_path / f"snap{len(shape)}", every_n_epochs=2, sample_rate=8000)
        quality = signals.SignalPSNR(target, metric="psnr")
        coordinates = coordinate_grid(shape)
        history = model.fit(coordinates, target.reshape(-1, channels), epochs=2, batch_size=len(coordinates),
                            verbose=0, callbacks=[snapshots, quality])
        assert [path.suffix for path in snapshots.paths] == [".wav" if len(shape) == 1 else ".gif"]
        assert len(history.history["render_psnr"]) == 2 and np.isfinite(history.history["render_psnr"]).all()
    with pytest.raises(ValueError, match="sample_rate"):
        signals.SignalSnapshots((64,), tmp_path)
    with pytest.raises(ValueError, match="filename"):
        signals.SignalSnapshots((4, 4), tmp_path, filename="x{epoch}.gif")
    with pytest.raises(ValueError, match="metric"):
        signals.SignalPSNR(np.zeros((4, 1)), metric="ssim")
    with pytest.raises(ValueError, match="target"):
        signals.SignalPSNR(np.zeros(4))
