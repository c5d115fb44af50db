"""Procedural worlds for the synthetic egocentric data.

A :class:`World` is an axis-aligned room (the inside of a box: floor at z = 0, walls, ceiling; world
Z-up, metres) holding analytic primitives: boxes (yawed about z), spheres, vertical cylinders and
capsules (arms). Textures are procedural (checker, stripes, value noise) and evaluated by the renderer
from hit coordinates. At most one target object moves (``Motion`` "slide": it slides/rolls back and
forth); in tabletop worlds a right arm + hand reaches periodically for the task object.

Two kinds:

- ``room``: a 4-7 m room, 1-2 counters along the walls and 6-12 objects on the floor/counters in a band
  along the walls; the walker's free floor area (``walk_bounds``) stays clear of objects.
- ``tabletop``: a table in a 3.5-5 m room, 4-8 small objects in reach of a seated person whose nominal
  head position is ``head_anchor``; arms are capsules, hands spheres.

Every object has a ``saliency`` in [0, 1] (how strongly it attracts gaze): one object per world is the
"bright" one (emissive, saliency 1), the moving one and the task object rank high. Generation is a pure
function of a ``numpy.random.Generator``.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass, replace

import numpy as np

WORLD_KINDS = ("room", "tabletop")
PRIM_KINDS = ("box", "sphere", "cylinder", "capsule")
TEXTURES = ("solid", "checker", "stripes", "noise")
Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class Material:
    """Surface appearance. Colours are linear RGB albedo in [0, 1]; ``scale`` is the texture period (m)."""
    color: Vec3
    color2: Vec3 = (0.0, 0.0, 0.0)
    texture: str = "solid"
    scale: float = 0.5
    emission: float = 0.0  # added radiance as a fraction of the albedo (the "bright" object)
    seed: int = 0          # noise lattice seed


@dataclass(frozen=True)
class Motion:
    """Displacement over time. ``slide``: ``vector * sin(2π (t + phase) / period)``; ``reach``:
    ``vector * profile`` with a periodic reach-hold-return-rest profile in [0, 1]."""
    kind: str
    vector: Vec3
    period: float
    phase: float = 0.0

    def weight(self, t: np.ndarray | float) -> np.ndarray:
        """Scalar weight(s) of ``vector`` at time(s) ``t`` (s), same shape as ``t``."""
        t = np.asarray(t, dtype=np.float64)
        u = np.mod((t + self.phase) / self.period, 1.0)
        if self.kind == "slide":
            return np.sin(2.0 * np.pi * u)
        if self.kind == "reach":
            up = _smoothstep(u / 0.3)
            down = 1.0 - _smoothstep((u - 0.5) / 0.3)
            return np.where(u < 0.3, up, np.where(u < 0.5, 1.0, np.where(u < 0.8, down, 0.0)))
        raise ValueError(f"unknown motion kind {self.kind!r}")

    def offset(self, t: np.ndarray | float) -> np.ndarray:
        """Displacement (..., 3) in metres at time(s) ``t``."""
        return np.asarray(self.weight(t))[..., None] * np.asarray(self.vector, dtype=np.float64)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass(frozen=True)
class Primitive:
    """One analytic shape.

    ``box``: centre, ``half`` = half extents in its yawed local frame. ``sphere``: centre, radius
    ``half[0]``. ``cylinder``: vertical axis, radius ``half[0]``, half height ``half[2]``. ``capsule``:
    segment ``center`` → ``end``, radius ``half[0]``; a capsule's motion moves ``end`` only (the hand end
    of an arm), every other shape moves as a whole.
    """
    kind: str
    center: Vec3
    half: Vec3
    material: Material
    yaw: float = 0.0
    end: Vec3 | None = None
    motion: Motion | None = None
    saliency: float = 0.0
    target: bool = True  # may be fixated by gaze
    name: str = ""

    def __post_init__(self):  # plain float tuples: hashable, comparable, JSON-friendly
        for f in ("center", "half", "end"):
            v = getattr(self, f)
            if v is not None:
                object.__setattr__(self, f, tuple(float(x) for x in v))

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray | None]:
        """(centre (3,), end (3,) or None) at time ``t`` seconds."""
        c = np.asarray(self.center, dtype=np.float64)
        e = None if self.end is None else np.asarray(self.end, dtype=np.float64)
        if self.motion is not None:
            off = self.motion.offset(float(t))
            if self.kind == "capsule":
                e = e + off
            else:
                c = c + off
        return c, e

    def offset(self, t: np.ndarray | float) -> np.ndarray:
        """Displacement (..., 3) of the primitive (of a capsule's end) at time(s) ``t``."""
        if self.motion is None:
            return np.zeros(np.shape(t) + (3,))
        return self.motion.offset(t)

    def bounding_sphere(self, t: float) -> tuple[np.ndarray, float]:
        """(centre (3,), radius) of a sphere enclosing the primitive at time ``t``."""
        c, e = self.at(t)
        h = np.asarray(self.half, dtype=np.float64)
        if self.kind == "box":
            return c, float(np.linalg.norm(h))
        if self.kind == "sphere":
            return c, float(h[0])
        if self.kind == "cylinder":
            return c, float(np.hypot(h[0], h[2]))
        return 0.5 * (c + e), float(0.5 * np.linalg.norm(e - c) + h[0])


@dataclass(frozen=True)
class World:
    """A room with primitives and lights. ``walk_bounds`` = (xmin, ymin, xmax, ymax) of the free floor
    (room kind); ``head_anchor``/``look_target`` = seated head position and table point (tabletop);
    ``task_index`` = the primitive the hand reaches for; ``eye_height`` in metres above the floor."""
    kind: str
    room_min: Vec3
    room_max: Vec3
    floor: Material
    walls: Material
    ceiling: Material
    prims: tuple[Primitive, ...]
    light_positions: tuple[Vec3, ...]
    light_intensities: tuple[float, ...]
    sun_direction: Vec3  # unit vector towards the directional light
    sun_intensity: float
    ambient: float
    eye_height: float
    walk_bounds: tuple[float, float, float, float] | None = None
    head_anchor: Vec3 | None = None
    look_target: Vec3 | None = None
    task_index: int | None = None

    @property
    def target_indices(self) -> np.ndarray:
        """Indices of primitives gaze may fixate (objects, not arms/legs)."""
        return np.array([i for i, p in enumerate(self.prims) if p.target], dtype=np.int64)

    @property
    def moving_index(self) -> int | None:
        """Index of the moving target object, if any."""
        for i, p in enumerate(self.prims):
            if p.target and p.motion is not None:
                return i
        return None

    def centers(self, t: float) -> np.ndarray:
        """(P, 3) primitive centres at time ``t`` (capsules: midpoint)."""
        return np.stack([p.bounding_sphere(t)[0] for p in self.prims]) if self.prims else np.zeros((0, 3))


def make_world(kind: str, rng: np.random.Generator) -> World:
    """A random world of ``kind`` ("room" or "tabletop"), a pure function of ``rng``."""
    if kind == "room":
        return _make_room(rng)
    if kind == "tabletop":
        return _make_tabletop(rng)
    raise ValueError(f"unknown world kind {kind!r}; expected one of {WORLD_KINDS}")


# ----------------------------------------------------------------------------------------- materials

def _color(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> Vec3:
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(*sat), rng.uniform(*val))
    return (float(r), float(g), float(b))


def _material(rng: np.random.Generator, textures: tuple[str, ...], scale: tuple[float, float],
              sat=(0.2, 0.7), val=(0.35, 0.8)) -> Material:
    c1 = _color(rng, sat, val)
    factor = rng.uniform(0.45, 0.75)
    c2 = tuple(float(np.clip(c * factor + rng.uniform(-0.05, 0.05), 0, 1)) for c in c1)
    return Material(c1, c2, str(rng.choice(textures)), float(rng.uniform(*scale)), 0.0,
                    int(rng.integers(0, 2**31 - 1)))


def _object_material(rng: np.random.Generator, scale: float) -> Material:
    return _material(rng, ("solid", "solid", "checker", "stripes", "noise"), (scale * 0.5, scale * 1.5),
                     sat=(0.45, 0.95), val=(0.45, 0.9))


def _saliency(m: Material) -> float:
    """A simple bottom-up saliency from brightness and saturation, in [0.15, 0.6]."""
    r, g, b = m.color
    _, s, v = colorsys.rgb_to_hsv(r, g, b)
    return float(0.15 + 0.45 * (0.6 * v + 0.4 * s))


def _make_bright(rng: np.random.Generator, p: Primitive) -> Primitive:
    hue = rng.choice([0.0, 0.08, 0.15, 0.55])  # red, orange, yellow, cyan
    r, g, b = colorsys.hsv_to_rgb(float(hue), 0.85, 1.0)
    mat = Material((r, g, b), (r * 0.8, g * 0.8, b * 0.8), "solid", 1.0, 0.6, 0)
    return replace(p, material=mat, saliency=1.0, name=p.name + "-bright")


def _shell(rng: np.random.Generator, size: np.ndarray) -> dict:
    """Room box materials and lights for a room of ``size`` = (sx, sy, height)."""
    floor = _material(rng, ("checker", "noise", "stripes"), (0.3, 0.9), sat=(0.1, 0.5), val=(0.3, 0.7))
    walls = _material(rng, ("stripes", "noise", "solid", "checker"), (0.3, 1.2), sat=(0.05, 0.4),
                      val=(0.5, 0.85))
    ceiling = Material((0.85, 0.85, 0.82), (0.8, 0.8, 0.78), "noise", 0.7, 0.0, int(rng.integers(1 << 30)))
    n_lights = int(rng.integers(1, 3))
    lights = tuple(tuple(float(v) for v in (rng.uniform(0.25, 0.75) * size[0], rng.uniform(0.25, 0.75) * size[1],
                                             size[2] - 0.15)) for _ in range(n_lights))
    sun = np.array([rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(0.6, 1.5)])
    return dict(room_min=(0.0, 0.0, 0.0), room_max=tuple(float(v) for v in size), floor=floor, walls=walls,
                ceiling=ceiling, light_positions=lights,
                light_intensities=tuple(float(rng.uniform(1.2, 1.8)) / n_lights for _ in range(n_lights)),
                sun_direction=tuple(float(v) for v in sun / np.linalg.norm(sun)),
                sun_intensity=float(rng.uniform(0.25, 0.45)), ambient=float(rng.uniform(0.18, 0.3)))


# ---------------------------------------------------------------------------------------------- room

def _free(xy: np.ndarray, r: float, placed: list[tuple[np.ndarray, float]], gap: float) -> bool:
    return all(np.linalg.norm(xy - q) >= r + rq + gap for q, rq in placed)


def _band_point(rng: np.random.Generator, size: np.ndarray, r: float, band: float) -> tuple[np.ndarray, float]:
    """A footprint centre within ``band`` metres of a random wall; returns (xy, yaw along that wall)."""
    side = int(rng.integers(4))
    d = rng.uniform(0.25 + r, max(0.26 + r, band - r))
    if side in (0, 1):  # walls at y = 0 / y = sy
        x = rng.uniform(0.3 + r, size[0] - 0.3 - r)
        return np.array([x, d if side == 0 else size[1] - d]), 0.0
    y = rng.uniform(0.3 + r, size[1] - 0.3 - r)
    return np.array([d if side == 2 else size[0] - d, y]), np.pi / 2


def _room_object(rng: np.random.Generator, xy: np.ndarray, base_z: float, scale: float, yaw: float,
                 name: str) -> Primitive:
    mat = _object_material(rng, 0.15 * scale / 0.3)
    kind = str(rng.choice(["box", "sphere", "cylinder"]))
    if kind == "box":
        h = rng.uniform(0.5, 1.0, 3) * scale
        h[2] = rng.uniform(0.4, 1.3) * scale
        return Primitive("box", (xy[0], xy[1], base_z + h[2]), tuple(h), mat, yaw + rng.uniform(-0.4, 0.4),
                         name=f"{name}-box", saliency=_saliency(mat))
    if kind == "sphere":
        r = rng.uniform(0.6, 1.0) * scale
        return Primitive("sphere", (xy[0], xy[1], base_z + r), (r, r, r), mat, name=f"{name}-sphere",
                         saliency=_saliency(mat))
    r, hh = rng.uniform(0.4, 0.9) * scale, rng.uniform(0.6, 2.0) * scale
    return Primitive("cylinder", (xy[0], xy[1], base_z + hh), (r, r, hh), mat, name=f"{name}-cylinder",
                     saliency=_saliency(mat))


def _make_room(rng: np.random.Generator) -> World:
    size = np.array([rng.uniform(4.0, 7.0), rng.uniform(4.0, 7.0), rng.uniform(2.5, 3.2)])
    shell = _shell(rng, size)
    band, margin = 1.25, 1.55  # objects live within `band` of a wall; the walker keeps `margin` away
    placed: list[tuple[np.ndarray, float]] = []
    prims: list[Primitive] = []
    n_objects = int(rng.integers(6, 13))

    # the moving object first: a ball rolling along a wall, its swept path reserved
    if rng.uniform() < 0.75:
        r = rng.uniform(0.15, 0.25)
        for _ in range(50):
            xy, yaw = _band_point(rng, size, r, band)
            amp = rng.uniform(0.3, 0.7)
            along = np.array([np.cos(yaw), np.sin(yaw)])
            ends = [xy + s * amp * along for s in (-1.0, -0.5, 0.0, 0.5, 1.0)]
            if all(0.3 + r < e[0] < size[0] - 0.3 - r and 0.3 + r < e[1] < size[1] - 0.3 - r for e in ends):
                mat = _object_material(rng, 0.12)
                mot = Motion("slide", (float(amp * along[0]), float(amp * along[1]), 0.0),
                             float(rng.uniform(3.0, 6.0)), float(rng.uniform(0, 6)))
                prims.append(Primitive("sphere", (xy[0], xy[1], r), (r, r, r), mat, motion=mot,
                                       saliency=0.85, name="ball-moving"))
                placed += [(e, r) for e in ends]
                break

    # counters along the walls with small objects on top
    for c in range(int(rng.integers(1, 3))):
        hx, hy, top = rng.uniform(0.4, 0.7), rng.uniform(0.25, 0.4), rng.uniform(0.72, 0.9)
        for _ in range(50):
            xy, yaw = _band_point(rng, size, hy, 0.3 + 2 * hy)
            if _free(xy, np.hypot(hx, hy), placed, 0.1):
                mat = _material(rng, ("solid", "noise", "stripes"), (0.1, 0.3), sat=(0.1, 0.5), val=(0.3, 0.7))
                prims.append(Primitive("box", (xy[0], xy[1], top / 2), (hx, hy, top / 2), mat, yaw,
                                       saliency=0.1, target=False, name=f"counter{c}"))
                placed.append((xy, float(np.hypot(hx, hy))))
                rot = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
                for j in range(int(rng.integers(1, 3))):
                    local = np.array([rng.uniform(-0.6, 0.6) * hx, rng.uniform(-0.5, 0.5) * hy])
                    prims.append(_room_object(rng, xy + rot @ local, top, rng.uniform(0.06, 0.12), yaw,
                                              f"counter{c}-obj{j}"))
                break

    # floor objects
    attempts = 0
    while sum(p.target for p in prims) < n_objects and attempts < 400:
        attempts += 1
        scale = rng.uniform(0.18, 0.4)
        xy, yaw = _band_point(rng, size, scale, band)
        if _free(xy, scale * 1.45, placed, 0.15):
            prims.append(_room_object(rng, xy, 0.0, scale, yaw, f"obj{len(prims)}"))
            placed.append((xy, scale * 1.45))

    # one bright, emissive object among the static targets
    static = [i for i, p in enumerate(prims) if p.motion is None and p.target]
    if static:
        i = int(rng.choice(static))
        prims[i] = _make_bright(rng, prims[i])
    walk = (margin, margin, float(size[0] - margin), float(size[1] - margin))
    return World("room", prims=tuple(prims), eye_height=float(rng.uniform(1.55, 1.7)), walk_bounds=walk,
                 **shell)


# ------------------------------------------------------------------------------------------ tabletop

def _make_tabletop(rng: np.random.Generator) -> World:
    size = np.array([rng.uniform(3.5, 5.0), rng.uniform(3.5, 5.0), rng.uniform(2.5, 3.0)])
    shell = _shell(rng, size)
    cx, cy = size[0] / 2, size[1] / 2
    hx, hy, top = rng.uniform(0.5, 0.8), rng.uniform(0.35, 0.5), rng.uniform(0.72, 0.78)
    y_edge = cy - hy  # the person sits on the -y side, looking towards +y
    tmat = _material(rng, ("solid", "noise", "stripes", "checker"), (0.05, 0.2), sat=(0.1, 0.5), val=(0.3, 0.75))
    prims: list[Primitive] = [Primitive("box", (cx, cy, top - 0.02), (hx, hy, 0.02), tmat, saliency=0.05,
                                        target=False, name="table-top")]
    leg = Material(tuple(v * 0.6 for v in tmat.color), tmat.color2, "solid", 1.0)
    for sx in (-1, 1):
        for sy in (-1, 1):
            prims.append(Primitive("box", (cx + sx * (hx - 0.05), cy + sy * (hy - 0.05), (top - 0.04) / 2),
                                   (0.025, 0.025, (top - 0.04) / 2), leg, target=False, name="table-leg"))

    x_lo, x_hi = cx - min(hx, 0.45) + 0.05, cx + min(hx, 0.45) - 0.05
    y_lo, y_hi = y_edge + 0.12, y_edge + min(2 * hy, 0.6) - 0.05
    placed: list[tuple[np.ndarray, float]] = [(np.array([cx + 0.2, y_edge + 0.08]), 0.08)]  # hand rest
    objects: list[int] = []
    if rng.uniform() < 0.7:  # a small ball rolling along the table
        r = rng.uniform(0.025, 0.045)
        amp = rng.uniform(0.1, 0.2)
        xy = np.array([rng.uniform(x_lo + amp, x_hi - amp), rng.uniform(y_lo + 0.1, y_hi)])
        mot = Motion("slide", (float(amp), 0.0, 0.0), float(rng.uniform(2.0, 4.0)), float(rng.uniform(0, 4)))
        prims.append(Primitive("sphere", (xy[0], xy[1], top + r), (r, r, r), _object_material(rng, 0.03),
                               motion=mot, saliency=0.85, name="ball-moving"))
        placed += [(xy + np.array([s * amp, 0.0]), r) for s in (-1.0, -0.5, 0.0, 0.5, 1.0)]
        objects.append(len(prims) - 1)
    n_objects = int(rng.integers(4, 9))
    attempts = 0
    while len(objects) < n_objects and attempts < 400:
        attempts += 1
        xy = np.array([rng.uniform(x_lo, x_hi), rng.uniform(y_lo, y_hi)])
        kind = str(rng.choice(["box", "sphere", "cylinder"]))
        mat = _object_material(rng, 0.03)
        if kind == "box":
            h = rng.uniform(0.025, 0.07, 3)
            foot = float(np.hypot(h[0], h[1]))
            p = Primitive("box", (xy[0], xy[1], top + h[2]), tuple(h), mat, float(rng.uniform(0, np.pi)),
                          saliency=_saliency(mat), name="box")
        elif kind == "sphere":
            r = rng.uniform(0.03, 0.06)
            foot = r
            p = Primitive("sphere", (xy[0], xy[1], top + r), (r, r, r), mat, saliency=_saliency(mat), name="ball")
        else:
            r, hh = rng.uniform(0.03, 0.055), rng.uniform(0.045, 0.1)
            foot = r
            p = Primitive("cylinder", (xy[0], xy[1], top + hh), (r, r, hh), mat, saliency=_saliency(mat), name="cup")
        if _free(xy, foot, placed, 0.03):
            prims.append(p)
            placed.append((xy, foot))
            objects.append(len(prims) - 1)

    static = [i for i in objects if prims[i].motion is None]
    bright = int(rng.choice(static))
    prims[bright] = _make_bright(rng, prims[bright])
    task = int(rng.choice([i for i in static if i != bright] or static))
    prims[task] = replace(prims[task], saliency=max(prims[task].saliency, 0.7), name=prims[task].name + "-task")

    anchor = np.array([cx + rng.uniform(-0.05, 0.05), y_edge - rng.uniform(0.15, 0.3), top + rng.uniform(0.4, 0.5)])
    prims += _arms(rng, anchor, y_edge, top, prims[task])
    look = (float(cx), float(y_edge + rng.uniform(0.25, 0.35)), float(top))
    return World("tabletop", prims=tuple(prims), eye_height=float(anchor[2]), head_anchor=tuple(anchor),
                 look_target=look, task_index=task, **shell)


def _arms(rng: np.random.Generator, anchor: np.ndarray, y_edge: float, top: float,
          task: Primitive) -> list[Primitive]:
    """Right arm reaching for ``task`` periodically, left arm resting: capsules (arms) + spheres (hands)."""
    skin = _color(rng, (0.25, 0.5), (0.45, 0.85))
    mat = Material(skin, tuple(c * 0.85 for c in skin), "noise", 0.02, 0.0, int(rng.integers(1 << 30)))
    sleeve = Material(_color(rng, (0.3, 0.8), (0.2, 0.6)), (0.1, 0.1, 0.1), "solid", 1.0)
    r_hand, r_arm = 0.048, 0.03
    out = []
    task_top = np.asarray(task.center) + np.array([0.0, -0.03, task.half[2] + r_hand * 0.9])
    for side in (1.0, -1.0):
        shoulder = anchor + np.array([side * 0.22, -0.02, -0.42])
        rest = np.array([anchor[0] + side * 0.2, y_edge + 0.08, top + r_hand])
        motion = None
        if side > 0:
            motion = Motion("reach", tuple(float(v) for v in task_top - rest), float(rng.uniform(3.0, 5.0)),
                            float(rng.uniform(0, 5)))
        out.append(Primitive("capsule", tuple(shoulder), (r_arm, r_arm, r_arm), sleeve, end=tuple(rest),
                             motion=motion, target=False, name=f"arm-{'right' if side > 0 else 'left'}"))
        out.append(Primitive("sphere", tuple(rest), (r_hand, r_hand, r_hand), mat, motion=motion,
                             target=False, name=f"hand-{'right' if side > 0 else 'left'}"))
    return out
