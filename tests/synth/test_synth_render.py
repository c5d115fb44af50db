"""Renderer: exact depth, shapes/dtypes, lenses, determinism of worlds."""
from __future__ import annotations

import numpy as np
import pytest

from egom2p.aria import RAW_FROM_UPRIGHT
from egom2p.cameras import Pinhole, square_pinhole
from egom2p.geometry import look_at_opencv, make_pose, transform_points
from egom2p.synth import aria_mps
from egom2p.synth.render import MISS, cast, fisheye_rays, pinhole_rays, render, render_depth, rotate_upright
from egom2p.synth.world import Material, Motion, Primitive, World, make_world

GREY = Material((0.5, 0.5, 0.5))


def box_world(lo, hi, prims=()) -> World:
    return World("room", tuple(lo), tuple(hi), GREY, Material((0.6, 0.4, 0.3), (0.3, 0.2, 0.1), "checker", 0.5),
                 GREY, tuple(prims), ((0.0, 0.0, 3.0),), (1.0,), (0.0, 0.0, 1.0), 0.3, 0.2, 1.6)


def test_depth_of_fronto_parallel_plane_is_exact():
    world = box_world((-5.0, -20.0, -20.0), (5.0, 20.0, 20.0))
    c2w = look_at_opencv([0.25, 0.3, 1.0], [10.0, 0.3, 1.0])
    rgb, depth = render(world, c2w, pinhole_rays(square_pinhole(64, 70)), 0.0)
    assert rgb.shape == (64, 64, 3) and rgb.dtype == np.uint8
    assert depth.shape == (64, 64) and depth.dtype == np.float32
    np.testing.assert_allclose(depth, 4.75, atol=1e-5)


def test_depth_of_tilted_floor_reconstructs_the_plane():
    world = box_world((-50.0, -50.0, 0.0), (50.0, 50.0, 30.0))
    c2w = look_at_opencv([0.0, 0.0, 1.6], [1.5, 0.5, 0.0])  # every ray hits the floor
    rays = pinhole_rays(Pinhole(50.0, 50.0, 39.5, 29.5, 80, 60))
    depth = render_depth(world, c2w, rays, 0.0)
    pts = transform_points(c2w, rays * depth[..., None].astype(np.float64))
    assert np.all(depth > 0)
    np.testing.assert_allclose(pts[..., 2], 0.0, atol=1e-5 * depth.max())


def test_sphere_depth_on_axis_and_miss_outside():
    sphere = Primitive("sphere", (3.0, 0.0, 1.0), (0.5, 0.5, 0.5), Material((1.0, 0.0, 0.0)))
    world = box_world((-5.0, -20.0, -20.0), (5.0, 20.0, 20.0), [sphere])
    c2w = look_at_opencv([0.0, 0.0, 1.0], [1.0, 0.0, 1.0])
    rgb, depth = render(world, c2w, pinhole_rays(square_pinhole(65, 60)), 0.0)
    assert depth[32, 32] == pytest.approx(2.5, abs=1e-5)
    assert depth[0, 0] == pytest.approx(5.0, abs=1e-5)
    assert rgb[32, 32, 0] > rgb[32, 32, 1] + 50  # the red sphere, lit


@pytest.mark.parametrize("kind,half,end", [("box", (0.3, 0.2, 0.4), None), ("cylinder", (0.3, 0.3, 0.4), None),
                                           ("capsule", (0.2, 0.2, 0.2), (3.0, 0.0, 2.5))])
def test_primitive_front_face_depth(kind, half, end):
    p = Primitive(kind, (3.0, 0.0, 1.0), half, GREY, end=end)
    world = box_world((-5.0, -20.0, -20.0), (5.0, 20.0, 20.0), [p])
    hits = cast(world, np.array([0.0, 0.0, 1.0]), np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), 0.0)
    assert hits.ids[0] == 0 and hits.s[0] == pytest.approx(3.0 - half[0], abs=1e-9)
    assert hits.ids[1] == -1 and hits.s[1] == pytest.approx(20.0)


def test_moving_object_moves_and_invalid_rays_are_black():
    mot = Motion("slide", (0.5, 0.0, 0.0), 4.0, 0.0)
    p = Primitive("sphere", (0.0, 3.0, 1.0), (0.3, 0.3, 0.3), GREY, motion=mot)
    world = box_world((-5.0, -20.0, -20.0), (5.0, 20.0, 20.0), [p])
    c2w = look_at_opencv([0.0, 0.0, 1.0], [0.0, 1.0, 1.0])
    rays = pinhole_rays(square_pinhole(32, 60))
    rays[0, 0] = np.nan
    rgb0, d0 = render(world, c2w, rays, 0.0)
    rgb1, d1 = render(world, c2w, rays, 1.0)
    assert not np.array_equal(d0, d1)
    assert d0[0, 0] == 0 and np.all(rgb0[0, 0] == 0)
    assert cast(world, np.zeros(3), np.zeros((1, 3)), 0.0).ids[0] == MISS


def test_fisheye_rays_cover_the_aria_frame_and_round_trip():
    cam = aria_mps.rgb_calibration(64)
    rays = fisheye_rays(cam)
    assert rays.shape == (64, 64, 3) and np.all(np.isfinite(rays))
    np.testing.assert_allclose(rays[..., 2], 1.0)
    u, v = np.meshgrid(np.arange(64.0), np.arange(64.0))
    np.testing.assert_allclose(cam.project(rays), np.stack([u, v], -1), atol=1e-6)


def test_upright_rotation_matches_rendering_the_upright_camera_directly():
    world = make_world("room", np.random.default_rng(3))
    b = world.walk_bounds
    c2w_up = look_at_opencv([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, 1.6], world.prims[0].center)
    raw_rays = fisheye_rays(aria_mps.rgb_calibration(48))
    raw, _ = render(world, aria_mps.raw_rgb_poses(c2w_up), raw_rays, 0.0)
    up_rays = rotate_upright(raw_rays) @ RAW_FROM_UPRIGHT  # r_up = RAW_FROM_UPRIGHT.T @ r_raw
    direct, _ = render(world, c2w_up, up_rays, 0.0)
    np.testing.assert_array_equal(rotate_upright(raw), direct)
    # a point to the right of / above the upright camera lands right / up in the upright image
    cam = aria_mps.rgb_calibration(48)
    for p_up, check in (([0.5, 0.0, 1.0], lambda x, y: x > 30), ([0.0, -0.5, 1.0], lambda x, y: y < 18)):
        x, y = cam.project(RAW_FROM_UPRIGHT @ np.array(p_up))
        assert check(47 - y, x)


def test_worlds_are_deterministic_and_varied():
    for kind in ("room", "tabletop"):
        a, b = make_world(kind, np.random.default_rng(7)), make_world(kind, np.random.default_rng(7))
        assert a == b
        c = make_world(kind, np.random.default_rng(8))
        assert c != a
        n = len(a.target_indices)
        assert (6 <= n <= 12) if kind == "room" else (4 <= n <= 8)
        assert sum(p.saliency == 1.0 for p in a.prims) == 1
        c2w = make_pose(np.eye(3), np.zeros(3))
        assert a.centers(0.0).shape == (len(a.prims), 3) and c2w.shape == (4, 4)


def test_tabletop_has_reaching_arm():
    w = make_world("tabletop", np.random.default_rng(1))
    arm = next(p for p in w.prims if p.name == "arm-right")
    task = np.asarray(w.prims[w.task_index].center)
    ts = np.linspace(0, arm.motion.period, 50)
    dist = [np.linalg.norm(arm.at(t)[1] - task) for t in ts]
    assert min(dist) < 0.12 < max(dist)
