"""Head and gaze motion: determinism, continuity across sampling rates, gaze on visible objects, blinks."""
from __future__ import annotations

import numpy as np
import pytest

from egom2p.cameras import Pinhole
from egom2p.geometry import invert_pose, rotation_errors, transform_points
from egom2p.synth.motion import make_motion
from egom2p.synth.render import cast
from egom2p.synth.world import make_world

CAM = Pinhole(160.0, 160.0, 127.5, 71.5, 256, 144)  # the EgoGen RGB camera


def motion(kind: str, seed: int, seconds: float = 4.0):
    world = make_world(kind, np.random.default_rng(seed))
    return world, make_motion(world, seconds, np.random.default_rng(1000 + seed))


@pytest.mark.parametrize("kind", ["room", "tabletop"])
def test_deterministic_and_seed_dependent(kind):
    ts = np.arange(60) / 30
    a, b, c = motion(kind, 4)[1].sample(ts), motion(kind, 4)[1].sample(ts), motion(kind, 5)[1].sample(ts)
    for f in ("c2w", "gaze_world", "gaze_valid"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.allclose(a.c2w, c.c2w)


def test_one_continuous_motion_for_every_sampling_rate():
    _, m = motion("room", 2)
    fast = m.sample(np.arange(0, 2000) / 1000.0)
    slow = m.sample(np.arange(0, 20) / 10.0)
    np.testing.assert_allclose(fast.c2w[::100], slow.c2w, atol=1e-12)
    np.testing.assert_array_equal(fast.gaze_valid[::100], slow.gaze_valid)
    np.testing.assert_allclose(fast.gaze_world[::100], slow.gaze_world, atol=1e-12)
    ortho, det = rotation_errors(fast.c2w[:, :3, :3])
    assert ortho < 1e-9 and det < 1e-9
    step = np.linalg.norm(np.diff(fast.c2w[:, :3, 3], axis=0), axis=1)
    assert step.max() < 0.005  # < 5 m/s: no jumps


def test_room_walks_with_head_bob_and_tabletop_looks_down():
    world, m = motion("room", 1, 8.0)
    tr = m.sample(np.arange(0, 8, 0.01))
    xy = tr.c2w[:, :2, 3]
    z = tr.c2w[:, 2, 3]
    assert np.linalg.norm(xy[-1] - xy[0]) > 0.3 or np.ptp(xy, axis=0).max() > 0.5
    assert 0.01 < np.ptp(z) < 0.08 and abs(z.mean() - world.eye_height) < 0.03
    b = world.walk_bounds
    assert np.all((xy > np.array(b[:2]) - 0.05) & (xy < np.array(b[2:]) + 0.05))
    world, m = motion("tabletop", 1)
    tr = m.sample(np.arange(0, 4, 0.05))
    assert np.all(tr.c2w[:, 2, 2] < -0.3)  # optical axis points down at the table
    assert np.linalg.norm(tr.c2w[:, :3, 3] - np.asarray(world.head_anchor), axis=1).max() < 0.05


def test_gaze_events_have_human_timing():
    _, m = motion("tabletop", 3, 10.0)
    fix = [e.t1 - e.t0 for e in m.events if e.kind == "fixation"][1:-1]
    sac = [e.t1 - e.t0 for e in m.events if e.kind == "saccade"]
    assert min(fix) >= 0.15 - 1e-9 and max(fix) <= 1.2 + 1e-9 and np.median(fix) < 0.7
    assert min(sac) >= 0.03 and max(sac) <= 0.05


@pytest.mark.parametrize("kind,min_on_target", [("room", 0.6), ("tabletop", 0.75)])
def test_gaze_lands_on_visible_salient_objects(kind, min_on_target):
    visible = on_target = n = 0
    for seed in range(3):
        world, m = motion(kind, seed)
        tr = m.sample(np.arange(0, 4, 1 / 30))
        for t, c2w, g, ok in zip(tr.times, tr.c2w, tr.gaze_world, tr.gaze_valid):
            if not ok:
                continue
            n += 1
            p = transform_points(invert_pose(c2w), g)
            u, v = CAM.project(p)
            hits = cast(world, c2w[:3, 3], (g - c2w[:3, 3])[None], float(t))
            seen = p[2] > 0 and 0 <= u < 256 and 0 <= v < 144 and abs(hits.s[0] - 1.0) < 0.01
            visible += seen
            on_target += seen and hits.ids[0] >= 0 and world.prims[hits.ids[0]].target
    assert visible / n > 0.8
    assert on_target / n > min_on_target


def test_fixation_point_fixed_in_world_while_head_moves():
    world, m = motion("room", 6, 6.0)
    moving = world.moving_index
    fixes = [e for e in m.events if e.kind == "fixation" and e.obj != moving and e.t1 - e.t0 > 0.3]
    e = fixes[0]
    tr = m.sample(np.linspace(e.t0 + 0.01, e.t1 - 0.01, 20))
    g = tr.gaze_world[tr.gaze_valid]
    assert np.ptp(g, axis=0).max() < 1e-12
    if moving is not None:
        pursuit = [e for e in m.events if e.kind == "fixation" and e.obj == moving]
        if pursuit:
            e = pursuit[0]
            tr = m.sample(np.linspace(e.t0, e.t1 - 1e-3, 10))
            rel = tr.gaze_world - world.prims[moving].offset(tr.times)
            ok = tr.gaze_valid
            assert np.ptp(rel[ok], axis=0).max() < 1e-12  # smooth pursuit: fixed on the moving object


def test_blinks_are_invalid_gaps_of_plausible_length():
    _, m = motion("room", 0, 20.0)
    ts = np.arange(0, 20, 1e-3)
    _, valid = m.gaze(ts)
    d = np.diff(valid.astype(int))
    starts, ends = np.flatnonzero(d == -1) + 1, np.flatnonzero(d == 1) + 1
    ends = ends[ends > starts[0]]
    k = min(len(starts), len(ends))
    assert k >= 2  # at least two complete blinks in 20 s
    runs = (ends[:k] - starts[:k]) * 1e-3
    gaps = (starts[1:k] - ends[:k - 1]) * 1e-3
    assert np.all((runs > 0.099) & (runs < 0.301)) and np.all((gaps > 1.99) & (gaps < 6.01))
    assert 0.9 < valid.mean() < 0.995
    g, _ = m.gaze(ts[~valid][:5])
    assert np.all(np.isnan(g))
