"""Head-mounted camera and eye-gaze motion in a :class:`~egom2p.synth.world.World`.

The motion is continuous: :class:`EgoMotion` simulates the head on an internal 1 kHz grid over
``[-PAD, duration + PAD]`` seconds (position, yaw, pitch, roll; linearly interpolated in between) and
keeps gaze as a list of analytic events, so a 1 kHz pose track, 30 fps frames and a 10 Hz gaze track
sampled from one ``EgoMotion`` agree exactly. Times outside the simulated span are clamped.

Head (upright OpenCV camera: x right, y down, z forward; world Z-up):

- ``room`` worlds: walk between random waypoints of the free floor (~0.9-1.3 m/s, pauses), body yaw
  turning smoothly towards the next waypoint, head bob at the step frequency (1.6-2.0 Hz, 1.5-3 cm)
  with lateral sway, a slightly downward base pitch, occasional head turns towards salient objects.
- ``tabletop`` worlds: seated at ``head_anchor`` looking down at ``look_target``; slow postural sway and
  small, quick (saccadic) head moves, half of them towards objects.

Gaze: fixations of 150-600 ms (pursuit of the moving object 0.4-1.2 s) on visible targets chosen by
saliency (+ moving object, + task object while the hand reaches for it), 30-50 ms saccades between them,
the fixated point fixed in the world while the head moves (VOR) or following the moving object
(smooth pursuit), and blinks every 2-6 s lasting 100-300 ms (``gaze_valid`` False, point NaN).
"""
from __future__ import annotations

import copy

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from egom2p.geometry import make_pose

from .render import MISS, cast
from .world import World

DT = 1e-3   # head-track step (s)
PAD = 1.0   # seconds simulated before t = 0 and after the duration
VIEW_TAN = (0.6, 0.35)  # |x/z|, |y/z| limits within which gaze targets count as visible


@dataclass(frozen=True)
class Trajectory:
    """Motion sampled at ``times`` (N,) seconds: ``c2w`` (N, 4, 4) upright OpenCV head camera to world,
    ``gaze_world`` (N, 3) fixated world point in metres (NaN where invalid), ``gaze_valid`` (N,) bool."""
    times: np.ndarray
    c2w: np.ndarray
    gaze_world: np.ndarray
    gaze_valid: np.ndarray


@dataclass(frozen=True)
class GazeEvent:
    """A fixation (``obj`` followed, ``point`` in the object's moving frame; obj -1 = static point) or a
    saccade (world ``point`` → ``end``) over [t0, t1) seconds."""
    kind: str
    t0: float
    t1: float
    obj: int
    point: np.ndarray
    end: np.ndarray | None = None


def head_rotation(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(N, 3, 3) camera-to-world rotations of an upright OpenCV camera: forward at azimuth ``yaw``
    (from world +x towards +y) and elevation ``pitch`` (up positive), rolled by ``roll`` (radians)."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    f = np.stack([cp * cy, cp * sy, sp], -1)
    r = np.stack([sy, -cy, np.zeros_like(yaw)], -1)
    dn = np.cross(f, r)
    cr, sr = np.cos(roll)[..., None], np.sin(roll)[..., None]
    return np.stack([cr * r + sr * dn, -sr * r + cr * dn, f], -1)


def _smooth(x: np.ndarray, sigma_s: float) -> np.ndarray:
    return gaussian_filter1d(x, sigma_s / DT, mode="nearest")


def _wrap(a: np.ndarray | float) -> np.ndarray:
    return np.mod(np.asarray(a) + np.pi, 2 * np.pi) - np.pi


def _walk(world: World, t: np.ndarray, rng: np.random.Generator):
    """Room walking: positions (M, 3), yaw, pitch, roll (M,) on the grid ``t``."""
    xmin, ymin, xmax, ymax = world.walk_bounds
    M = len(t)
    xy, heading, gait = np.empty((M, 2)), np.empty(M), np.zeros(M)
    p = rng.uniform([xmin, ymin], [xmax, ymax])
    head = rng.uniform(-np.pi, np.pi)
    min_step = min(1.0, 0.6 * np.hypot(xmax - xmin, ymax - ymin))
    i = 0
    while i < M:
        n = int(rng.uniform(0.3, 1.5) / DT)
        xy[i:i + n], heading[i:i + n] = p, head
        i += n
        for _ in range(30):
            q = rng.uniform([xmin, ymin], [xmax, ymax])
            if np.linalg.norm(q - p) >= min_step:
                break
        n = max(int(np.linalg.norm(q - p) / rng.uniform(0.9, 1.3) / DT), 500)
        u = (np.arange(n) / n)[:max(0, M - i)]
        head = head + float(_wrap(np.arctan2(q[1] - p[1], q[0] - p[0]) - head))
        xy[i:i + n] = p + (u - np.sin(2 * np.pi * u) / (2 * np.pi))[:, None] * (q - p)
        heading[i:i + n], gait[i:i + n] = head, np.sin(np.pi * u)
        i += n
        p = q
    lead = int(0.3 / DT)  # the body starts turning before it starts walking
    heading = _smooth(np.concatenate([heading[lead:], np.full(lead, heading[-1])]), 0.25)
    gait = _smooth(gait, 0.1)

    f_step, amp = rng.uniform(1.6, 2.0), rng.uniform(0.015, 0.03)
    ph = rng.uniform(0, 2 * np.pi, 3)
    bob = amp * gait * np.sin(2 * np.pi * f_step * t + ph[0])
    sway = 0.012 * gait * np.sin(np.pi * f_step * t + ph[1])
    pos = np.stack([xy[:, 0] + sway * np.sin(heading), xy[:, 1] - sway * np.cos(heading),
                    world.eye_height + bob], -1)

    base_pitch = rng.uniform(-0.42, -0.25)
    yaw_off, pitch_target = np.zeros(M), np.full(M, base_pitch)
    targets = world.target_indices
    te = t[0] + rng.uniform(0.3, 2.0)
    while te < t[-1] and len(targets):
        dur = rng.uniform(0.6, 1.6)
        k = int((te - t[0]) / DT)
        rel = world.centers(te)[targets] - pos[k]
        ang = _wrap(np.arctan2(rel[:, 1], rel[:, 0]) - heading[k])
        ok = np.abs(ang) < np.deg2rad(100)
        if ok.any():
            w = np.array([world.prims[j].saliency for j in targets]) * ok
            j = targets[rng.choice(len(targets), p=w / w.sum())]
            sl = slice(k, min(M, k + int(dur / DT)))
            c = world.centers(te)[j]
            yaw_off[sl] = np.clip(_wrap(np.arctan2(c[1] - pos[sl, 1], c[0] - pos[sl, 0]) - heading[sl]), -1.2, 1.2)
            horiz = np.hypot(c[0] - pos[sl, 0], c[1] - pos[sl, 1])
            pitch_target[sl] = np.clip(np.arctan2(c[2] - pos[sl, 2], horiz), -0.8, 0.15)
        te += dur + rng.uniform(0.5, 2.0)
    yaw = heading + _smooth(yaw_off, 0.12)
    pitch = _smooth(pitch_target, 0.12) + 0.008 * gait * np.sin(2 * np.pi * f_step * t + ph[2])
    roll = 0.012 * gait * np.sin(np.pi * f_step * t + ph[1])
    return pos, yaw, pitch, roll


def _seated(world: World, t: np.ndarray, rng: np.random.Generator):
    """Tabletop: mostly still head with small saccadic head moves; (M, 3) and 3 × (M,)."""
    M = len(t)
    anchor, look = np.asarray(world.head_anchor), np.asarray(world.look_target)
    ph = rng.uniform(0, 2 * np.pi, 3)
    pos = anchor + np.stack([0.008 * np.sin(2 * np.pi * 0.11 * t + ph[0]),
                             0.006 * np.sin(2 * np.pi * 0.07 * t + ph[1]),
                             0.004 * np.sin(2 * np.pi * 0.25 * t + ph[2])], -1)
    v = look - anchor
    yaw0, pitch0 = np.arctan2(v[1], v[0]), np.arctan2(v[2], np.hypot(v[0], v[1]))
    yaw, pitch, roll = np.empty(M), np.empty(M), np.empty(M)
    targets = world.target_indices
    i = 0
    while i < M:
        n = int(rng.uniform(0.4, 1.8) / DT)
        if len(targets) and rng.uniform() < 0.5:  # turn part of the way towards an object
            c = world.centers(t[i])[rng.choice(targets)] - anchor
            dy = _wrap(np.arctan2(c[1], c[0]) - yaw0)
            dp = np.arctan2(c[2], np.hypot(c[0], c[1])) - pitch0
            dy, dp = 0.6 * dy, 0.6 * dp
        else:
            dy, dp = rng.uniform(-0.12, 0.12), rng.uniform(-0.08, 0.08)
        yaw[i:i + n], pitch[i:i + n], roll[i:i + n] = yaw0 + dy, pitch0 + dp, rng.uniform(-0.03, 0.03)
        i += n
    return pos, _smooth(yaw, 0.045), _smooth(pitch, 0.045), _smooth(roll, 0.1)


class EgoMotion:
    """Continuous head + gaze motion of one sequence (see the module docstring)."""

    def __init__(self, world: World, duration: float, rng: np.random.Generator,
                 view_tan: tuple[float, float] = VIEW_TAN):
        self.world, self.duration, self.view_tan = world, float(duration), view_tan
        self._t = np.arange(-PAD, duration + PAD + DT / 2, DT)
        style = _walk if world.kind == "room" else _seated
        self._pos, yaw, pitch, roll = style(world, self._t, rng)
        self._ang = np.stack([yaw, pitch, roll], -1)
        self._set_events(self._gaze_events(rng))
        self.blinks = _blinks(rng, self._t[0], self._t[-1])

    def _set_events(self, events: list[GazeEvent]) -> None:
        self.events = events
        self._starts = np.array([e.t0 for e in events])

    def redrawn_gaze(self, rng: np.random.Generator) -> "EgoMotion":
        """A copy with the same world, head track and blinks but freshly drawn gaze events (which targets
        are fixated, where on them, for how long): another gaze history equally likely under the model given
        everything a camera could see. ``self`` is left unchanged."""
        other = copy.copy(self)
        other._set_events(self._gaze_events(rng))
        return other

    # ----------------------------------------------------------------------------------- head
    def head(self, times: np.ndarray) -> np.ndarray:
        """(N, 4, 4) upright OpenCV camera-to-world poses at ``times`` (N,) seconds."""
        tt = np.clip(np.atleast_1d(np.asarray(times, dtype=np.float64)), self._t[0], self._t[-1])
        pos = np.stack([np.interp(tt, self._t, self._pos[:, j]) for j in range(3)], -1)
        ang = [np.interp(tt, self._t, self._ang[:, j]) for j in range(3)]
        return make_pose(head_rotation(*ang), pos)

    # ----------------------------------------------------------------------------------- gaze
    def gaze(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) gaze points in the world (NaN during blinks) and (N,) validity at ``times``."""
        tt = np.clip(np.atleast_1d(np.asarray(times, dtype=np.float64)), self._t[0], self._t[-1])
        out = np.empty((len(tt), 3))
        idx = np.clip(np.searchsorted(self._starts, tt, side="right") - 1, 0, len(self.events) - 1)
        for e_i in np.unique(idx):
            sel = idx == e_i
            out[sel] = self._event_point(self.events[e_i], tt[sel])
        valid = np.ones(len(tt), dtype=bool)
        if len(self.blinks):
            b = np.searchsorted(self.blinks[:, 0], tt, side="right") - 1
            valid = ~((b >= 0) & (tt < self.blinks[np.maximum(b, 0), 1]))
        out[~valid] = np.nan
        return out, valid

    def _event_point(self, e: GazeEvent, tt: np.ndarray) -> np.ndarray:
        if e.kind == "saccade":
            w = np.clip((tt - e.t0) / (e.t1 - e.t0), 0.0, 1.0)
            w = w * w * (3 - 2 * w)
            return e.point + w[:, None] * (e.end - e.point)
        if e.obj < 0:
            return np.broadcast_to(e.point, (len(tt), 3)).copy()
        return e.point + self.world.prims[e.obj].offset(tt)

    def sample(self, times: np.ndarray) -> Trajectory:
        """Head poses and gaze at ``times`` (N,) seconds."""
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        g, v = self.gaze(times)
        return Trajectory(times, self.head(times), g, v)

    # ----------------------------------------------------------------------------- planning
    def _gaze_events(self, rng: np.random.Generator) -> list[GazeEvent]:
        events: list[GazeEvent] = []
        t, t_end = float(self._t[0]), float(self._t[-1])
        moving = self.world.moving_index
        prev_obj, prev_end = -2, None
        while t < t_end:
            obj, local = self._choose_fixation(t, rng, prev_obj)
            if prev_end is not None:
                sd = rng.uniform(0.03, 0.05)
                start = self._event_point(GazeEvent("fixation", t, t + sd, obj, local), np.array([t + sd]))[0]
                events.append(GazeEvent("saccade", t, t + sd, -1, prev_end, start))
                t += sd
            dur = rng.uniform(0.4, 1.2) if (moving is not None and obj == moving) else rng.uniform(0.15, 0.6)
            dur = self._time_in_view(GazeEvent("fixation", t, t + dur, obj, local), min_dur=0.15)
            fix = GazeEvent("fixation", t, t + dur, obj, local)
            events.append(fix)
            prev_obj, prev_end = obj, self._event_point(fix, np.array([t + dur]))[0]
            t += dur
        return events

    def _in_view(self, cam: np.ndarray) -> np.ndarray:
        """(N,) whether camera-frame points (N, 3) lie in the cone where gaze targets count as visible."""
        z = np.maximum(cam[:, 2], 1e-9)
        return (cam[:, 2] > 0.15) & (np.abs(cam[:, 0] / z) < self.view_tan[0]) & \
            (np.abs(cam[:, 1] / z) < self.view_tan[1])

    def _time_in_view(self, e: GazeEvent, min_dur: float) -> float:
        """Duration of fixation ``e`` cut where its point leaves the view (the eyes move on), >= min_dur."""
        tt = np.arange(e.t0, e.t1, 0.01)
        c2w = self.head(tt)
        out = ~self._in_view(np.einsum("nji,nj->ni", c2w[:, :3, :3], self._event_point(e, tt) - c2w[:, :3, 3]))
        if not out.any():
            return e.t1 - e.t0
        return max(min_dur, float(tt[np.argmax(out)] - e.t0))

    def _choose_fixation(self, t: float, rng: np.random.Generator, prev_obj: int) -> tuple[int, np.ndarray]:
        """(primitive index or -1, point in that primitive's moving frame) of a visible fixation at t."""
        world = self.world
        c2w = self.head(np.array([t]))[0]
        o, R = c2w[:3, 3], c2w[:3, :3]
        targets = world.target_indices
        if len(targets):
            inview = self._in_view((world.centers(t)[targets] - o) @ R)
            w = np.array([world.prims[j].saliency for j in targets])
            w = w + 0.6 * (targets == world.moving_index)
            if world.task_index is not None:
                reach = max((float(p.motion.weight(t)) for p in world.prims
                             if p.motion is not None and p.motion.kind == "reach"), default=0.0)
                w = w + (1.0 + 2.0 * reach) * (targets == world.task_index)
            w = w * np.where(targets == prev_obj, 0.35, 1.0) * inview
            order = rng.choice(len(targets), size=int(np.count_nonzero(w)), replace=False, p=w / w.sum()) \
                if w.sum() > 0 else []
            for k in order:
                j = int(targets[k])
                p = world.prims[j]
                c = world.centers(t)[j]
                for aim in (c + rng.uniform(-0.35, 0.35, 3) * np.asarray(p.half), c):
                    hits = cast(world, o, (aim - o)[None], t)
                    if hits.ids[0] == j:
                        point = o + hits.s[0] * (aim - o)
                        return j, point - p.offset(t)
        # nothing salient visible: look at whatever lies near the view centre
        ray = R @ np.array([rng.uniform(-0.3, 0.3) * self.view_tan[0], rng.uniform(-0.3, 0.3) * self.view_tan[1], 1.0])
        hits = cast(world, o, ray[None], t)
        if hits.ids[0] == MISS:
            return -1, o + ray
        point = o + hits.s[0] * ray
        j = int(hits.ids[0])
        if j >= 0 and world.prims[j].target:
            return j, point - world.prims[j].offset(t)
        return -1, point


def _blinks(rng: np.random.Generator, t0: float, t1: float) -> np.ndarray:
    """(K, 2) blink intervals [start, end) in seconds: every 2-6 s, 100-300 ms long."""
    out = []
    t = t0 + rng.uniform(0.5, 3.0)
    while t < t1:
        d = rng.uniform(0.1, 0.3)
        out.append((t, t + d))
        t += d + rng.uniform(2.0, 6.0)
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def make_motion(world: World, duration: float, rng: np.random.Generator) -> EgoMotion:
    """The head + gaze motion of one sequence of ``duration`` seconds in ``world``."""
    return EgoMotion(world, duration, rng)
