"""Backend-specific helpers of keras-inr, one module per backend (imported only on that backend).

Everything else in :mod:`keras_inr` is written once with ``keras.ops``; code that needs a backend's own API (for
example a ``tf.data`` input pipeline) lives here, in a module named for its backend.
"""
