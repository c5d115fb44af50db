"""Camera models: pinhole, FISHEYE624 (Aria ``FisheyeRadTanThinPrism``) and Kannala-Brandt K3.

Points are camera-frame (x right, y down, z forward in the raw sensor image). ``project`` maps (...,3)
points to (...,2) pixels (pixel centres at integers); ``unproject`` maps pixels to rays
with z = 1. All functions are vectorized numpy, float64.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Pinhole:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    def project(self, p: np.ndarray) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        z = p[..., 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.stack([self.fx * p[..., 0] / z + self.cx, self.fy * p[..., 1] / z + self.cy], -1)

    def unproject(self, uv: np.ndarray) -> np.ndarray:
        uv = np.asarray(uv, dtype=np.float64)
        return np.stack([(uv[..., 0] - self.cx) / self.fx, (uv[..., 1] - self.cy) / self.fy,
                         np.ones(uv.shape[:-1])], -1)

    def scaled(self, s: float) -> "Pinhole":
        """The same camera for an image resized by ``s`` (pixel-centre rule p' = s(p+0.5)-0.5)."""
        return Pinhole(self.fx * s, self.fy * s, s * (self.cx + 0.5) - 0.5, s * (self.cy + 0.5) - 0.5,
                       round(self.width * s), round(self.height * s))

    def to_dict(self) -> dict:
        return {"model": "pinhole", "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
                "width": self.width, "height": self.height}


def square_pinhole(side: int, hfov_deg: float) -> Pinhole:
    """A centred square pinhole camera with the given horizontal field of view."""
    f = (side / 2.0) / np.tan(np.deg2rad(hfov_deg) / 2.0)
    c = (side - 1) / 2.0
    return Pinhole(f, f, c, c, side, side)


def _radial_poly(theta: np.ndarray, ks) -> np.ndarray:
    t2 = theta * theta
    acc = np.ones_like(theta)
    power = t2.copy()
    for k in ks:
        acc = acc + k * power
        power = power * t2
    return theta * acc


@dataclass(frozen=True)
class Fisheye624:
    """Aria FISHEYE624. ``params``: 15 (fx, cx, cy, k0..k5, p0, p1, s0..s3; fy = fx) or 16 (fx, fy, …)."""
    params: tuple[float, ...]
    width: int
    height: int

    def __post_init__(self):
        if len(self.params) not in (15, 16):
            raise ValueError(f"FISHEYE624 needs 15 or 16 parameters, got {len(self.params)}")

    @property
    def _unpacked(self):
        p = self.params
        if len(p) == 15:
            fx, fy, cx, cy, rest = p[0], p[0], p[1], p[2], p[3:]
        else:
            fx, fy, cx, cy, rest = p[0], p[1], p[2], p[3], p[4:]
        return fx, fy, cx, cy, rest[:6], rest[6:8], rest[8:12]

    def project(self, pts: np.ndarray) -> np.ndarray:
        fx, fy, cx, cy, k, (p0, p1), (s0, s1, s2, s3) = self._unpacked
        pts = np.asarray(pts, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = pts[..., 0] / pts[..., 2]
            b = pts[..., 1] / pts[..., 2]
        r = np.sqrt(a * a + b * b)
        theta = np.arctan(r)
        theta_d = _radial_poly(theta, k)
        scale = np.where(r > 1e-12, theta_d / np.where(r > 1e-12, r, 1.0), 1.0)
        xr, yr = scale * a, scale * b
        rd2 = xr * xr + yr * yr
        u = xr + (2 * xr * xr + rd2) * p0 + 2 * xr * yr * p1 + s0 * rd2 + s1 * rd2 * rd2
        v = yr + (2 * yr * yr + rd2) * p1 + 2 * xr * yr * p0 + s2 * rd2 + s3 * rd2 * rd2
        return np.stack([fx * u + cx, fy * v + cy], -1)

    def unproject(self, uv: np.ndarray, iterations: int = 20) -> np.ndarray:
        """Pixels -> rays (z = 1) by Newton iteration on the full model (tangential + thin prism)."""
        fx, fy, cx, cy, *_ = self._unpacked
        uv = np.asarray(uv, dtype=np.float64)
        target = np.stack([(uv[..., 0] - cx) / fx, (uv[..., 1] - cy) / fy], -1)
        # initial guess: invert the radial polynomial alone (1D Newton on theta), then refine in 2D
        rd = np.linalg.norm(target, axis=-1)
        ks = self._unpacked[4]
        th = np.clip(rd, 0.0, 1.5)
        for _ in range(30):
            f = _radial_poly(th, ks) - rd
            df = 1.0 + sum((2 * i + 3) * k * th ** (2 * i + 2) for i, k in enumerate(ks))
            th = np.clip(th - f / np.where(np.abs(df) < 1e-9, 1e-9, df), 0.0, 1.55)
        ab = target * np.where(rd > 1e-12, np.tan(th) / np.where(rd > 1e-12, rd, 1.0), 1.0)[..., None]
        eps = 1e-7
        for _ in range(iterations):
            f0 = self._normalized(ab)
            res = f0 - target
            J = np.empty(ab.shape + (2,))
            for j in range(2):
                d = np.zeros(2)
                d[j] = eps
                J[..., :, j] = (self._normalized(ab + d) - f0) / eps
            det = J[..., 0, 0] * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]
            det = np.where(np.abs(det) < 1e-15, 1e-15, det)
            da = (J[..., 1, 1] * res[..., 0] - J[..., 0, 1] * res[..., 1]) / det
            db = (-J[..., 1, 0] * res[..., 0] + J[..., 0, 0] * res[..., 1]) / det
            ab = ab - np.stack([da, db], -1)
        return np.concatenate([ab, np.ones(ab.shape[:-1] + (1,))], -1)

    def _normalized(self, ab: np.ndarray) -> np.ndarray:
        fx, fy, cx, cy, *_ = self._unpacked
        uv = self.project(np.concatenate([ab, np.ones(ab.shape[:-1] + (1,))], -1))
        return np.stack([(uv[..., 0] - cx) / fx, (uv[..., 1] - cy) / fy], -1)

    def scaled(self, s: float) -> "Fisheye624":
        """The same lens for an image resized by ``s`` (focal x s, centre by the pixel-centre rule)."""
        p = list(self.params)
        if len(p) == 15:
            p[0] *= s
            p[1], p[2] = s * (p[1] + 0.5) - 0.5, s * (p[2] + 0.5) - 0.5
        else:
            p[0] *= s
            p[1] *= s
            p[2], p[3] = s * (p[2] + 0.5) - 0.5, s * (p[3] + 0.5) - 0.5
        return Fisheye624(tuple(p), round(self.width * s), round(self.height * s))

    def to_dict(self) -> dict:
        return {"model": "fisheye624", "params": list(self.params), "width": self.width, "height": self.height}


@dataclass(frozen=True)
class KannalaBrandtK3:
    """KB3: params fx, fy, cx, cy, k0..k3 (θ_d = θ(1 + k0θ² + k1θ⁴ + k2θ⁶ + k3θ⁸))."""
    params: tuple[float, ...]
    width: int
    height: int

    def project(self, pts: np.ndarray) -> np.ndarray:
        fx, fy, cx, cy, *k = self.params
        pts = np.asarray(pts, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            a = pts[..., 0] / pts[..., 2]
            b = pts[..., 1] / pts[..., 2]
        r = np.sqrt(a * a + b * b)
        theta_d = _radial_poly(np.arctan(r), k)
        scale = np.where(r > 1e-12, theta_d / np.where(r > 1e-12, r, 1.0), 1.0)
        return np.stack([fx * scale * a + cx, fy * scale * b + cy], -1)


@dataclass(frozen=True)
class OpenCVRational:
    """Pinhole + OpenCV rational distortion, ``dist8 = k1, k2, p1, p2, k3, k4, k5, k6`` (ARCTIC egocam).

    x' = x·(1+k1r²+k2r⁴+k3r⁶)/(1+k4r²+k5r⁴+k6r⁶) + 2p1xy + p2(r²+2x²), y' likewise with p1/p2 swapped.
    """
    K: tuple[tuple[float, ...], ...]
    dist8: tuple[float, ...]
    width: int
    height: int

    @property
    def pinhole(self) -> Pinhole:
        K = np.asarray(self.K)
        return Pinhole(K[0, 0], K[1, 1], K[0, 2], K[1, 2], self.width, self.height)

    def project(self, pts: np.ndarray) -> np.ndarray:
        k1, k2, p1, p2, k3, k4, k5, k6 = self.dist8
        pts = np.asarray(pts, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            x, y = pts[..., 0] / pts[..., 2], pts[..., 1] / pts[..., 2]
        r2 = x * x + y * y
        radial = (1 + k1 * r2 + k2 * r2 ** 2 + k3 * r2 ** 3) / (1 + k4 * r2 + k5 * r2 ** 2 + k6 * r2 ** 3)
        xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
        yd = y * radial + 2 * p2 * x * y + p1 * (r2 + 2 * y * y)
        c = self.pinhole
        return np.stack([c.fx * xd + c.cx, c.fy * yd + c.cy], -1)

    def unproject(self, uv: np.ndarray) -> np.ndarray:
        """Pixels -> rays (z = 1) through OpenCV's iterative undistortion."""
        import cv2
        uv = np.asarray(uv, dtype=np.float64)
        pts = cv2.undistortPoints(uv.reshape(-1, 1, 2), np.asarray(self.K, np.float64), np.asarray(self.dist8), None,
                                  None, criteria=(cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 50, 1e-12))
        xy = pts.reshape(uv.shape)
        return np.concatenate([xy, np.ones(uv.shape[:-1] + (1,))], -1)
