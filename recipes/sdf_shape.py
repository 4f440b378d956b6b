"""Recipe: a signed distance function from an oriented point cloud of a generated 3-D shape (SIREN's SDF experiment).

Sitzmann et al. 2020 (https://arxiv.org/abs/2006.09661, section 4.2, equation 6) fit a SIREN ``f: R^3 -> R`` to an
oriented point cloud -- surface points with normals, nothing else -- with a loss on the function *and its gradient*:
``|f| = 0`` and ``grad f`` parallel to the normal on the surface, ``|grad f| = 1`` everywhere (the eikonal equation of
a distance function) and ``f`` away from zero off the surface. Here:

* the shape is generated analytically (``--shape torus``: a tilted torus; ``--shape spheres``: a union of three
  spheres), so its surface points, normals and exact signed distance are known;
* :class:`keras_inr.DerivativeModel` trains a SIREN with :func:`keras_inr.derivative_losses.sdf_losses` (the
  reference implementation's weights 3e3, 1e2, 5e1, 1e2) on batches of
  :class:`keras_inr.derivative_losses.OrientedPointCloud` (half surface points, half uniform points in the cube),
  through ``model.fit``;
* the zero level set is extracted on a grid with scikit-image's marching cubes, its vertex normals are the learned
  field's gradients (:func:`keras_inr.differential.gradient`), and the mesh is written as Wavefront ``.obj``;
* the Chamfer distance between the mesh and the true surface (the mean exact distance of mesh samples to the
  surface and the mean distance of surface samples to the nearest mesh sample, averaged) is compared with that of
  the true SDF's own marching-cubes mesh at the same grid, the floor the grid allows; it is also given for the
  mesh's largest connected part alone, which separates the accuracy of the surface from spurious zero crossings
  elsewhere in the cube (both generated shapes are connected).

It prints a markdown table and saves ``sdf_mesh.obj``, ``sdf.keras`` (the trained model), ``results.md`` and the figure
``sdf.png`` (true surface, learned surface, a slice of the learned SDF with both zero contours) into ``--out``.

Run (any backend)::

    KERAS_BACKEND=jax python recipes/sdf_shape.py
    python recipes/sdf_shape.py --quick            # a small smoke run
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import keras_inr  # first: selects the JAX backend when KERAS_BACKEND is unset

# isort: split
import keras
import numpy as np
from scipy.spatial import cKDTree
from skimage import measure

from keras_inr import derivative_losses, differential, training
from keras_inr.safe_files import atomic_path, write_text


# --- shapes: exact signed distance, surface samples and normals --------------------------------------------------
def _rotation(angle_x: float, angle_y: float) -> np.ndarray:
    cx, sx, cy, sy = np.cos(angle_x), np.sin(angle_x), np.cos(angle_y), np.sin(angle_y)
    about_x = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    about_y = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    return about_y @ about_x


class Torus:
    """A torus of radii ``major`` and ``minor`` around the (rotated) third axis, centred at the origin."""

    def __init__(self, major=0.5, minor=0.2, rotation=None):
        self.major, self.minor = major, minor
        self.rotation = _rotation(0.6, 0.3) if rotation is None else rotation

    def sdf(self, points: np.ndarray) -> np.ndarray:
        local = points @ self.rotation  # rotation^T p, row-wise
        ring = np.hypot(local[:, 0], local[:, 1]) - self.major
        return np.hypot(ring, local[:, 2]) - self.minor

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` points uniform in area on the surface, with outward unit normals."""
        around, tube = np.empty(0), np.empty(0)
        while len(tube) < count:  # area element ~ (major + minor cos v): rejection sampling of v
            u = rng.uniform(0, 2 * np.pi, 2 * count)
            v = rng.uniform(0, 2 * np.pi, 2 * count)
            keep = rng.uniform(0, 1, 2 * count) < (self.major + self.minor * np.cos(v)) / (self.major + self.minor)
            around, tube = np.concatenate([around, u[keep]]), np.concatenate([tube, v[keep]])
        u, v = around[:count], tube[:count]
        normals = np.stack([np.cos(v) * np.cos(u), np.cos(v) * np.sin(u), np.sin(v)], axis=-1)
        centres = self.major * np.stack([np.cos(u), np.sin(u), np.zeros_like(u)], axis=-1)
        points = centres + self.minor * normals
        return points @ self.rotation.T, normals @ self.rotation.T


class Spheres:
    """A union of spheres (centres ``(k, 3)``, radii ``(k,)``)."""

    def __init__(self, centres=((-0.3, -0.15, 0.0), (0.3, -0.15, 0.05), (0.0, 0.3, -0.05)), radii=(0.35, 0.3, 0.3)):
        self.centres, self.radii = np.asarray(centres, float), np.asarray(radii, float)

    def _each(self, points):
        return np.linalg.norm(points[:, None, :] - self.centres[None], axis=-1) - self.radii[None]

    def sdf(self, points: np.ndarray) -> np.ndarray:
        # the exact distance outside; inside, the union's minimum is the usual (slightly off near the seams) choice
        return self._each(points).min(axis=1)

    def sample(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        points, normals = np.empty((0, 3)), np.empty((0, 3))
        while len(points) < count:
            which = rng.choice(len(self.radii), size=2 * count, p=self.radii**2 / np.sum(self.radii**2))
            directions = rng.normal(size=(2 * count, 3))
            directions /= np.linalg.norm(directions, axis=1, keepdims=True)
            candidates = self.centres[which] + self.radii[which, None] * directions
            distances = self._each(candidates)
            distances[np.arange(len(which)), which] = np.inf  # the sphere a point lies on does not hide it
            visible = distances.min(axis=1) > 0  # not inside another sphere: on the union's surface
            points = np.concatenate([points, candidates[visible]])
            normals = np.concatenate([normals, directions[visible]])
        return points[:count], normals[:count]


SHAPES = {"torus": Torus, "spheres": Spheres}


# --- meshes ------------------------------------------------------------------------------------------------------
def extract_mesh(volume: np.ndarray):
    """Zero level set of a ``(n, n, n)`` volume sampled on ``coordinate_grid`` as ``(vertices, faces)``; ``None``
    when the volume does not cross zero."""
    if not volume.min() < 0 < volume.max():
        return None
    size = volume.shape[0]
    vertices, faces, _, _ = measure.marching_cubes(volume, level=0.0, spacing=(2.0 / (size - 1),) * 3)
    return vertices - 1.0, faces


def orient(vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Faces reordered so that each triangle's winding agrees with its vertices' outward normals."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    flip = np.sum(face_normals * normals[faces].sum(axis=1), axis=-1) < 0
    faces = faces.copy()
    faces[flip] = faces[flip][:, ::-1]
    return faces


def write_obj(path: Path, vertices: np.ndarray, faces: np.ndarray, normals: np.ndarray) -> Path:
    """A Wavefront ``.obj`` with vertices, vertex normals and (1-based) triangles."""
    lines = [f"# {len(vertices)} vertices, {len(faces)} triangles: zero level set of a learned signed distance"]
    lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in vertices]
    lines += [f"vn {x:.6f} {y:.6f} {z:.6f}" for x, y, z in normals]
    lines += [f"f {a}//{a} {b}//{b} {c}//{c}" for a, b, c in faces + 1]
    path.write_text("\n".join(lines) + "\n")
    return path


def sample_mesh(rng: np.random.Generator, vertices, faces, count: int) -> np.ndarray:
    """``count`` points uniform in area on a triangle mesh."""
    corners = vertices[faces]
    areas = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=-1)
    chosen = rng.choice(len(faces), size=count, p=areas / areas.sum())
    a, b = rng.uniform(size=(2, count, 1))
    fold = (a + b) > 1  # reflect into the triangle
    a, b = np.where(fold, 1 - a, a), np.where(fold, 1 - b, b)
    tri = corners[chosen]
    return tri[:, 0] + a * (tri[:, 1] - tri[:, 0]) + b * (tri[:, 2] - tri[:, 0])


def largest_component(vertices: np.ndarray, faces: np.ndarray):
    """The connected part of a mesh with the largest area (the shape, without spurious zero crossings elsewhere)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(len(vertices),) * 2)
    _, labels = connected_components(graph, directed=False)
    corners = vertices[faces]
    areas = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=-1)
    face_labels = labels[faces[:, 0]]
    keep = face_labels == np.argmax(np.bincount(face_labels, weights=areas))
    return vertices, faces[keep], int(labels.max()) + 1


def chamfer(mesh_points: np.ndarray, surface_points: np.ndarray, sdf) -> float:
    """Symmetric Chamfer distance between a mesh and the true surface, averaged over both directions.

    Mesh to surface: the exact distance ``|sdf(p)|`` of dense area-uniform samples of the mesh. Surface to mesh: the
    distance from area-uniform samples of the true surface to the nearest mesh sample (dense, so that the sampling
    adds little: at 100,000 samples on the torus about 0.001).
    """
    there = np.abs(sdf(mesh_points.astype(np.float64)))
    back, _ = cKDTree(mesh_points).query(surface_points)
    return float(0.5 * (there.mean() + back.mean()))


# --- figure ------------------------------------------------------------------------------------------------------
def _draw_mesh(axis, vertices, faces, title):
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    axis.set_title(title, fontsize=9)
    axis.set_xlim(-1, 1), axis.set_ylim(-1, 1), axis.set_zlim(-1, 1)
    axis.set_box_aspect((1, 1, 1))
    axis.set_axis_off()
    axis.view_init(elev=25, azim=-60)
    if vertices is None:
        axis.text2D(0.5, 0.5, "no zero crossing", ha="center", transform=axis.transAxes)
        return
    corners = vertices[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    light = np.array([0.4, -0.5, 0.75]) / np.linalg.norm([0.4, -0.5, 0.75])
    shade = 0.25 + 0.75 * np.abs(normals @ light)
    colours = np.clip(shade[:, None] * np.array([0.55, 0.7, 0.95]), 0, 1)
    axis.add_collection3d(Poly3DCollection(corners, facecolors=colours, edgecolor="none"))


def save_figure(path: Path, true_mesh, learned_mesh, slice_values, true_slice, title: str) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(12, 4.2), constrained_layout=True)
    FigureCanvasAgg(figure)
    _draw_mesh(figure.add_subplot(1, 3, 1, projection="3d"), *(true_mesh or (None, None)),
               "true surface (marching cubes of the exact SDF)")
    _draw_mesh(figure.add_subplot(1, 3, 2, projection="3d"), *(learned_mesh or (None, None)),
               "learned SIREN SDF, zero level set")
    axis = figure.add_subplot(1, 3, 3)
    limit = float(np.abs(slice_values).max()) or 1.0
    extent = (-1, 1, -1, 1)
    image = axis.imshow(slice_values.T, origin="lower", extent=extent, cmap="RdBu_r", vmin=-limit, vmax=limit)
    grid = np.linspace(-1, 1, slice_values.shape[0])
    if slice_values.min() < 0 < slice_values.max():
        axis.contour(grid, grid, slice_values.T, levels=[0.0], colors="k", linewidths=1.2)
    axis.contour(grid, grid, true_slice.T, levels=[0.0], colors="gold", linewidths=1.0, linestyles="--")
    axis.set_title("learned SDF, middle plane of x2 (black: learned, gold: true zero set)", fontsize=9)
    axis.set_xlabel("x0"), axis.set_ylabel("x1")
    figure.colorbar(image, ax=axis, shrink=0.8)
    figure.suptitle(title, fontsize=10)
    figure.savefig(path, dpi=100)
    return path


# --- the run -----------------------------------------------------------------------------------------------------
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="torus", choices=sorted(SHAPES), help="generated shape (default: torus)")
    parser.add_argument("--points", type=int, default=None, help="oriented surface points (default: 100000)")
    parser.add_argument("--steps", type=int, default=None, help="Adam steps (default: 3000)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="points per step, half on the surface (default: 4096)")
    parser.add_argument("--width", type=int, default=None, help="units per hidden layer (default: 128)")
    parser.add_argument("--depth", type=int, default=None, help="sine layers (default: 3)")
    parser.add_argument("--w0", type=float, default=None, help="SIREN omega_0 (default: 30, the paper's)")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help="initial Adam learning rate, cosine decay to 1%% (default: 1e-3)")
    parser.add_argument("--resolution", type=int, default=None, help="marching-cubes grid per axis (default: 96)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/sdf_shape", help="output folder (default: runs/sdf_shape)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 200 steps of 1024 points, width 32, depth 2, w0 15, 32^3 grid (unless given "
                        "explicitly; such a small SIREN leaves more spurious surface at w0 30 in 200 steps)")
    args = parser.parse_args(argv)
    quick = {"points": 5000, "steps": 200, "batch_size": 1024, "width": 32, "depth": 2, "w0": 15.0,
             "learning_rate": 1e-3, "resolution": 32}
    full = {"points": 100000, "steps": 3000, "batch_size": 4096, "width": 128, "depth": 3, "w0": 30.0,
            "learning_rate": 1e-3, "resolution": 96}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if not args.learning_rate > 0:
        parser.error(f"--learning-rate must be positive, got {args.learning_rate}")
    for name in ("points", "steps", "batch_size", "width", "depth", "resolution", "w0"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    if args.batch_size % 2:
        parser.error(f"--batch-size must be even (half surface, half off-surface points), got {args.batch_size}")
    if args.resolution < 8:
        parser.error(f"--resolution must be at least 8, got {args.resolution}")

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    shape = SHAPES[args.shape]()
    points, normals = shape.sample(rng, args.points)
    keras.utils.set_random_seed(args.seed)
    print(f"backend {keras.backend.backend()}; {args.shape}: {args.points} oriented surface points; SIREN "
          f"{args.depth}x{args.width}, w0={args.w0:g}; {args.steps} steps of {args.batch_size} points, Adam "
          f"{args.learning_rate:g} with cosine decay; SIREN's SDF loss (3e3 surface, 1e2 normal, 5e1 eikonal, 1e2 "
          "off-surface)")

    inr = keras_inr.SIREN(1, width=args.width, depth=args.depth, w0=args.w0, in_dims=3)
    model = keras_inr.DerivativeModel(inr, derivative_losses.sdf_losses())
    model.compile(optimizer=keras.optimizers.Adam(
        training.make_learning_rate(args.learning_rate, "cosine", total_steps=args.steps)))
    per_epoch = max(d for d in range(1, min(args.steps, 100) + 1) if args.steps % d == 0)
    dataset = derivative_losses.OrientedPointCloud(
        points, normals, batch_size=args.batch_size, steps_per_epoch=per_epoch, seed=args.seed
    )
    start = time.perf_counter()
    history = model.fit(dataset, epochs=args.steps // per_epoch, verbose=0).history
    seconds = time.perf_counter() - start
    with atomic_path(out / "sdf.keras") as temporary:  # whole or not at all: a stopped run keeps the last one
        model.save(temporary)

    # mesh of the learned field, normals from its gradient
    size = args.resolution
    volume = keras_inr.render(inr, (size, size, size))[..., 0]
    grid = keras_inr.data.coordinate_grid((size, size, size))
    true_volume = shape.sdf(grid.astype(np.float64)).reshape(size, size, size)
    true_mesh, learned_mesh = extract_mesh(true_volume), extract_mesh(volume)
    on_surface = keras.ops.convert_to_numpy(inr.predict(points[:4096].astype(np.float32), verbose=0))
    check_points, _ = shape.sample(np.random.default_rng(args.seed + 1), 20000)
    dense = 100000

    def distance_to_truth(vertices, faces):
        return chamfer(sample_mesh(rng, vertices, faces, dense), check_points, shape.sdf)

    floor = distance_to_truth(*true_mesh)
    if learned_mesh is None:
        distance, main_distance, vertex_count, face_count, components = float("nan"), float("nan"), 0, 0, 0
        print("note: the learned field does not cross zero on the grid; no mesh (train longer)")
    else:
        vertices, faces = learned_mesh
        vertex_normals = np.concatenate([
            keras.ops.convert_to_numpy(differential.gradient(inr, vertices[i:i + 65536].astype(np.float32)))
            for i in range(0, len(vertices), 65536)
        ])
        vertex_normals /= np.maximum(np.linalg.norm(vertex_normals, axis=1, keepdims=True), 1e-12)
        faces = orient(vertices, faces, vertex_normals)
        learned_mesh = (vertices, faces)
        with atomic_path(out / "sdf_mesh.obj") as temporary:
            write_obj(temporary, vertices, faces, vertex_normals)
        distance = distance_to_truth(vertices, faces)
        _, main_faces, components = largest_component(vertices, faces)
        main_distance = distance_to_truth(vertices, main_faces)
        vertex_count, face_count = len(vertices), len(faces)

    table = "\n".join([
        "| shape | SIREN | parameters | steps x batch | final loss | mean abs f on the surface | Chamfer, learned "
        "mesh | Chamfer, its largest component | Chamfer, exact SDF's mesh (grid floor) | mesh | time (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        f"| {args.shape} | {args.depth}x{args.width}, w0={args.w0:g} | {inr.count_params()} | {args.steps} x "
        f"{args.batch_size} | {history['loss'][-1]:.4g} | {np.abs(on_surface).mean():.2e} | {distance:.4f} | "
        f"{main_distance:.4f} | {floor:.4f} | {vertex_count} vertices, {face_count} triangles, {components} "
        f"component(s) at {size}^3 | {seconds:.1f} |",
    ])
    print()
    print(table)
    write_text(out / "results.md", table + "\n")
    middle = size // 2
    figure = out / "sdf.png"
    with atomic_path(figure) as temporary:
        save_figure(
            temporary, true_mesh, learned_mesh, volume[:, :, middle], true_volume[:, :, middle],
            f"{args.shape}: SIREN SDF from {args.points} oriented points ({keras.backend.backend()}, {args.steps} "
            f"steps); Chamfer {distance:.4f} (grid floor {floor:.4f})",
        )
    print(f"\nsaved {figure}, sdf_mesh.obj, sdf.keras and results.md in {out}")
    return {"chamfer": distance, "chamfer_largest_component": main_distance, "floor": floor,
            "loss": history["loss"][-1], "seconds": seconds}


if __name__ == "__main__":
    main()
