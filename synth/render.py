"""CPU ray caster for :class:`~egom2p.synth.world.World` in vectorized numpy.

Rays are given in the camera frame with z = 1 (``rays_cam`` (H, W, 3), OpenCV axes: x right, y down,
z forward), so the ray parameter at a hit *is* the exact z-depth of that pixel. Any lens works: build
the rays once per camera with :func:`pinhole_rays` or :func:`fisheye_rays` (NaN rays = outside the
lens, rendered black with depth 0). Loops run over primitives, never over pixels; each primitive is
first culled by its bounding sphere. Shading: Lambertian with ambient, point lights near the ceiling and
one directional light, procedural textures from surface coordinates, emission for the bright object,
gamma 2.2 through a lookup table. No shadows.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from egom2p.cameras import Fisheye624, Pinhole

from .world import Material, Primitive, World

ROOM = -1  # id of the room shell in Hits.ids
MISS = -2  # id where the ray hits nothing (or the ray is invalid)
_EPS = 1e-9
_GAMMA_LUT = np.round(255.0 * (np.arange(4096) / 4095.0) ** (1 / 2.2)).astype(np.uint8)


@dataclass(frozen=True)
class Hits:
    """Ray hits: ``s`` (N,) ray parameter (inf = miss), ``ids`` (N,) primitive index / ROOM / MISS,
    ``face`` (N,) room face 0..5 (-x, +x, -y, +y walls, floor, ceiling) where ``ids == ROOM``."""
    s: np.ndarray
    ids: np.ndarray
    face: np.ndarray


# ----------------------------------------------------------------------------------------------- rays

def pinhole_rays(cam: Pinhole) -> np.ndarray:
    """(H, W, 3) camera-frame rays with z = 1 through every pixel centre of a pinhole camera."""
    u, v = np.meshgrid(np.arange(cam.width, dtype=np.float64), np.arange(cam.height, dtype=np.float64))
    return cam.unproject(np.stack([u, v], -1))


def fisheye_rays(cam: Fisheye624, max_theta_deg: float = 88.0) -> np.ndarray:
    """(H, W, 3) rays (z = 1) of a FISHEYE624 lens; NaN where unprojection fails or θ > max_theta_deg."""
    return _fisheye_rays_cached(cam, float(max_theta_deg)).copy()


@lru_cache(maxsize=8)
def _fisheye_rays_cached(cam: Fisheye624, max_theta_deg: float) -> np.ndarray:
    u, v = np.meshgrid(np.arange(cam.width, dtype=np.float64), np.arange(cam.height, dtype=np.float64))
    uv = np.stack([u, v], -1)
    rays = cam.unproject(uv)
    err = np.linalg.norm(cam.project(rays) - uv, axis=-1)
    retry = ~(err < 1e-4)
    if retry.any():  # Newton from the equidistant guess can diverge far out: restart from a radial solve
        rays[retry] = _unproject_radial_start(cam, uv[retry])
        err = np.linalg.norm(cam.project(rays) - uv, axis=-1)
    theta = np.arctan(np.linalg.norm(rays[..., :2], axis=-1))
    bad = ~np.isfinite(err) | (err > 1e-3) | (theta > np.deg2rad(max_theta_deg))
    rays[bad] = np.nan
    return rays


def _unproject_radial_start(cam: Fisheye624, uv: np.ndarray, newton: int = 8) -> np.ndarray:
    """Rays (K, 3), z = 1: bisection on the radial polynomial, then Newton on the full model."""
    fx, fy, cx, cy, k, *_ = cam._unpacked
    target = np.stack([(uv[:, 0] - cx) / fx, (uv[:, 1] - cy) / fy], -1)
    rd = np.linalg.norm(target, axis=-1)
    grid = np.linspace(0.0, np.pi / 2 - 1e-3, 2000)
    radial = grid * (1 + sum(kk * grid ** (2 * i + 2) for i, kk in enumerate(k)))
    top = grid[np.argmax(np.diff(radial) <= 0)] if np.any(np.diff(radial) <= 0) else grid[-1]
    lo, hi = np.zeros_like(rd), np.full_like(rd, top)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        f = mid * (1 + sum(kk * mid ** (2 * i + 2) for i, kk in enumerate(k)))
        lo, hi = np.where(f < rd, mid, lo), np.where(f < rd, hi, mid)
    ab = target * (np.tan(lo) / np.maximum(rd, 1e-12))[:, None]

    def proj(x):
        return cam.project(np.concatenate([x, np.ones((len(x), 1))], 1))

    for _ in range(newton):
        f0 = proj(ab) - uv
        J = np.stack([(proj(ab + e) - proj(ab)) / 1e-7 for e in (np.array([1e-7, 0]), np.array([0, 1e-7]))], -1)
        ab = ab - np.linalg.solve(J, f0[..., None])[..., 0]
    return np.concatenate([ab, np.ones((len(ab), 1))], 1)


def rotate_upright(img: np.ndarray) -> np.ndarray:
    """Raw Aria RGB image -> upright (90° clockwise; raw pixel (x, y) -> (W-1-y, x))."""
    return np.ascontiguousarray(np.rot90(img, k=-1))


# ------------------------------------------------------------------------------------- intersections

def _room_hit(lo: np.ndarray, hi: np.ndarray, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exit distance of rays leaving the inside of the box [lo, hi]: (s (N,), face (N,))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(d > 0, (hi - o) / d, np.where(d < 0, (lo - o) / d, np.inf))
    axis = np.argmin(t, axis=1)
    s = np.take_along_axis(t, axis[:, None], 1)[:, 0]
    face = 2 * axis + (np.take_along_axis(d, axis[:, None], 1)[:, 0] > 0)
    s = np.where(s > _EPS, s, np.inf)
    return s, face


def _sphere(o, d, dd, c, r):
    oc = o - c
    b = d @ oc
    disc = b * b - dd * (oc @ oc - r * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (-b - np.sqrt(disc)) / dd
    return np.where((disc >= 0) & (s > _EPS), s, np.inf)


def _rot_z(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _box(o, d, c, half, yaw):
    R = _rot_z(yaw)
    ol = (o - c) @ R          # world -> local: R^T (o - c)
    dl = d @ R
    dl = np.where(np.abs(dl) < 1e-12, 1e-12, dl)
    inv = 1.0 / dl
    t1 = (-half - ol) * inv
    t2 = (half - ol) * inv
    tmin = np.minimum(t1, t2).max(axis=1)
    tmax = np.maximum(t1, t2).min(axis=1)
    return np.where((tmax >= tmin) & (tmin > _EPS), tmin, np.inf)


def _cylinder(o, d, c, r, h):
    oc = o - c
    a = d[:, 0] ** 2 + d[:, 1] ** 2
    b = d[:, 0] * oc[0] + d[:, 1] * oc[1]
    disc = b * b - a * (oc[0] ** 2 + oc[1] ** 2 - r * r)
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (-b - np.sqrt(disc)) / a
        z = oc[2] + s * d[:, 2]
        side = np.where((disc >= 0) & (s > _EPS) & (np.abs(z) <= h), s, np.inf)
        if abs(oc[2]) <= h:
            return side  # eye between the cap planes: only the side faces the eye
        zc = h if oc[2] > h else -h
        sc = (zc - oc[2]) / d[:, 2]
        x, y = oc[0] + sc * d[:, 0], oc[1] + sc * d[:, 1]
        cap = np.where((sc > _EPS) & (x * x + y * y <= r * r), sc, np.inf)
    return np.minimum(side, cap)


def _capsule(o, d, dd, a, e, r):
    ba, oa = e - a, o - a
    baba, baoa = ba @ ba, ba @ oa
    bard, rdoa = d @ ba, d @ oa
    qa = baba * dd - bard * bard
    qb = baba * rdoa - baoa * bard
    qc = baba * (oa @ oa) - baoa * baoa - r * r * baba
    disc = qb * qb - qa * qc
    with np.errstate(invalid="ignore", divide="ignore"):
        s = (-qb - np.sqrt(disc)) / qa
    y = baoa + s * bard
    body = np.where((disc >= 0) & (s > _EPS) & (y > 0) & (y < baba), s, np.inf)
    return np.minimum(body, np.minimum(_sphere(o, d, dd, a, r), _sphere(o, d, dd, e, r)))


def _intersect(p: Primitive, t: float, o, d, dd) -> np.ndarray:
    c, e = p.at(t)
    h = np.asarray(p.half, dtype=np.float64)
    if p.kind == "sphere":
        return _sphere(o, d, dd, c, h[0])
    if p.kind == "box":
        return _box(o, d, c, h, p.yaw)
    if p.kind == "cylinder":
        return _cylinder(o, d, c, h[0], h[2])
    if p.kind == "capsule":
        return _capsule(o, d, dd, c, e, h[0])
    raise ValueError(f"unknown primitive kind {p.kind!r}")


def cast(world: World, origin: np.ndarray, dirs: np.ndarray, t: float) -> Hits:
    """First hits of rays ``origin + s * dirs`` (origin (3,), dirs (N, 3) world frame, any length;
    rows of zeros are misses) at scene time ``t`` seconds."""
    o = np.asarray(origin, dtype=np.float64)
    d = np.asarray(dirs, dtype=np.float64)
    s_best, face = _room_hit(np.asarray(world.room_min, float), np.asarray(world.room_max, float), o, d)
    ids = np.where(np.isfinite(s_best), ROOM, MISS)
    dd = np.einsum("ij,ij->i", d, d)
    for i, p in enumerate(world.prims):
        c, rad = p.bounding_sphere(t)
        oc = o - c
        b = d @ oc
        disc = b * b - dd * (oc @ oc - rad * rad)
        idx = np.flatnonzero(disc > 0)
        if idx.size == 0:
            continue
        s = _intersect(p, t, o, d[idx], dd[idx])
        better = s < s_best[idx]
        s_best[idx[better]] = s[better]
        ids[idx[better]] = i
    return Hits(s_best, ids, face)


# --------------------------------------------------------------------------------------- shading

def _surface(p: Primitive, t: float, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit normals (K, 3) and texture coordinates (K, 2) in the primitive's moving frame at points x."""
    c, e = p.at(t)
    h = np.asarray(p.half, dtype=np.float64)
    if p.kind == "box":
        R = _rot_z(p.yaw)
        xl = (x - c) @ R
        axis = np.argmax(np.abs(xl) / h, axis=1)
        nl = np.zeros_like(xl)
        nl[np.arange(len(xl)), axis] = np.sign(xl[np.arange(len(xl)), axis])
        return nl @ R.T, _drop_axis(xl, axis)
    if p.kind == "cylinder":
        xl = x - c
        rxy = np.hypot(xl[:, 0], xl[:, 1])
        cap = np.abs(np.abs(xl[:, 2]) - h[2]) < np.abs(rxy - h[0])
        side = np.stack([xl[:, 0], xl[:, 1], np.zeros(len(xl))], 1) / np.maximum(rxy, 1e-12)[:, None]
        n = np.where(cap[:, None], np.stack([0 * rxy, 0 * rxy, np.sign(xl[:, 2])], 1), side)
        uv_side = np.stack([h[0] * np.arctan2(xl[:, 1], xl[:, 0]), xl[:, 2]], 1)
        return n, np.where(cap[:, None], xl[:, :2], uv_side)
    if p.kind == "sphere":
        xl = x - c
    else:  # capsule: closest point on the segment
        ba = e - c
        w = np.clip((x - c) @ ba / (ba @ ba), 0.0, 1.0)
        xl = x - (c + w[:, None] * ba)
    n = xl / np.linalg.norm(xl, axis=1, keepdims=True)
    return n, _drop_axis(x - c, np.argmax(np.abs(n), axis=1))


def _drop_axis(x: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """(K, 3), (K,) -> (K, 2): the two coordinates other than ``axis`` (triplanar mapping)."""
    keep = np.array([[1, 2], [0, 2], [0, 1]])[axis]
    return np.take_along_axis(x, keep, 1)


def _value_noise(xy: np.ndarray, seed: int) -> np.ndarray:
    """Smooth value noise in [0, 1] at (K, 2) lattice coordinates."""
    i = np.floor(xy)
    f = xy - i
    w = f * f * (3.0 - 2.0 * f)
    i = i.astype(np.int64).astype(np.uint64)
    salt = np.uint64((seed * 2654435761) % (1 << 32))

    def h(ix, iy):
        n = ix * np.uint64(374761393) + iy * np.uint64(668265263) + salt
        n = (n ^ (n >> np.uint64(13))) * np.uint64(1274126177)
        return ((n ^ (n >> np.uint64(16))) & np.uint64(0xFFFF)).astype(np.float64) / 65535.0

    x0, y0, one = i[:, 0], i[:, 1], np.uint64(1)
    a = h(x0, y0) + (h(x0 + one, y0) - h(x0, y0)) * w[:, 0]
    b = h(x0, y0 + one) + (h(x0 + one, y0 + one) - h(x0, y0 + one)) * w[:, 0]
    return a + (b - a) * w[:, 1]


def texture(m: Material, uv: np.ndarray) -> np.ndarray:
    """Albedo (K, 3) of material ``m`` at texture coordinates uv (K, 2) in metres."""
    q = uv / m.scale
    if m.texture == "solid":
        mix = np.zeros(len(uv))
    elif m.texture == "checker":
        mix = np.mod(np.floor(q[:, 0]) + np.floor(q[:, 1]), 2.0)
    elif m.texture == "stripes":
        mix = np.mod(np.floor(q[:, 0] + 0.3 * q[:, 1]), 2.0)
    elif m.texture == "noise":
        mix = 0.65 * _value_noise(q, m.seed) + 0.35 * _value_noise(2.03 * q + 17.0, m.seed + 1)
        mix = np.clip((mix - 0.2) / 0.6, 0.0, 1.0)
    else:
        raise ValueError(f"unknown texture {m.texture!r}")
    c1, c2 = np.asarray(m.color), np.asarray(m.color2)
    return c1 + (c2 - c1) * mix[:, None]


def _room_surface(world: World, x: np.ndarray, face: np.ndarray):
    axis = face // 2
    n = np.zeros_like(x)
    n[np.arange(len(x)), axis] = np.where(face % 2 == 1, -1.0, 1.0)  # inward
    uv = _drop_axis(x, axis)
    albedo = np.empty_like(x)
    for mat, sel in ((world.walls, axis < 2), (world.floor, face == 4), (world.ceiling, face == 5)):
        if sel.any():
            albedo[sel] = texture(mat, uv[sel])
    return n, albedo


def shade(world: World, o: np.ndarray, d: np.ndarray, hits: Hits, t: float) -> np.ndarray:
    """Linear RGB radiance (N, 3) of the hits; zero where nothing was hit."""
    out = np.zeros((len(d), 3))
    hit = np.flatnonzero(hits.ids != MISS)
    if hit.size == 0:
        return out
    full = hit.size == len(d)
    x = o + (hits.s[:, None] * d if full else hits.s[hit, None] * d[hit])
    ids = hits.ids if full else hits.ids[hit]
    n = np.empty_like(x)
    albedo = np.empty_like(x)
    emission = np.zeros(len(x))
    order = np.argsort(ids, kind="stable")
    keys = ids[order]
    cuts = np.flatnonzero(np.diff(keys)) + 1
    for grp in np.split(order, cuts):  # one group per surface id (ROOM first)
        i = int(ids[grp[0]])
        if i == ROOM:
            n[grp], albedo[grp] = _room_surface(world, x[grp], hits.face[hit[grp]])
            continue
        p = world.prims[i]
        n[grp], uv = _surface(p, t, x[grp])  # uv relative to the (moving) centre: textures move along
        albedo[grp] = texture(p.material, uv)
        emission[grp] = p.material.emission
    light = world.ambient + world.sun_intensity * np.clip(n @ np.asarray(world.sun_direction), 0.0, None)
    for pos, power in zip(world.light_positions, world.light_intensities):
        lv = np.asarray(pos) - x
        inv_dist = 1.0 / np.sqrt(np.einsum("ij,ij->i", lv, lv))
        lam = np.clip(np.einsum("ij,ij->i", n, lv) * inv_dist, 0.0, None)
        light = light + power * lam / (1.0 + 0.111 / (inv_dist * inv_dist))
    rad = albedo * (light + emission)[:, None]
    if full:
        return rad
    out[hit] = rad
    return out


def to_uint8(rgb_linear: np.ndarray) -> np.ndarray:
    """Linear radiance -> gamma-2.2 uint8 (same leading shape)."""
    idx = (np.clip(rgb_linear, 0.0, 1.0) * 4095.0 + 0.5).astype(np.int32)
    return _GAMMA_LUT[idx]


def _world_rays(c2w: np.ndarray, rays_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c2w = np.asarray(c2w, dtype=np.float64)
    r = np.asarray(rays_cam, dtype=np.float64).reshape(-1, 3)
    r = np.where(np.isfinite(r), r, 0.0)  # invalid rays: zero direction = miss
    return c2w[:3, 3].copy(), r @ c2w[:3, :3].T


def render(world: World, c2w: np.ndarray, rays_cam: np.ndarray, t: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame.

    Args:
        world: the scene.
        c2w: (4, 4) OpenCV camera-to-world pose (x right, y down, z forward).
        rays_cam: (H, W, 3) camera-frame ray directions with z = 1 (NaN = outside the lens).
        t: scene time in seconds (moving objects, arms).
    Returns:
        rgb (H, W, 3) uint8 and depth (H, W) float32: exact z-depth in metres, 0 where nothing is hit.
    """
    H, W = rays_cam.shape[:2]
    o, d = _world_rays(c2w, rays_cam)
    hits = cast(world, o, d, t)
    depth = np.where(hits.ids != MISS, hits.s, 0.0).astype(np.float32).reshape(H, W)
    rgb = to_uint8(shade(world, o, d, hits, t)).reshape(H, W, 3)
    return rgb, depth


def render_depth(world: World, c2w: np.ndarray, rays_cam: np.ndarray, t: float = 0.0) -> np.ndarray:
    """Depth only (H, W) float32 z-depth in metres (0 = no hit); skips shading."""
    H, W = rays_cam.shape[:2]
    o, d = _world_rays(c2w, rays_cam)
    hits = cast(world, o, d, t)
    return np.where(hits.ids != MISS, hits.s, 0.0).astype(np.float32).reshape(H, W)
