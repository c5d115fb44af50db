"""EgoGen (ETH, CVPR 2024) reader. Modalities: rgb, depth, camera (no gaze).

Native layout, one folder per sequence (``<scene>`` or ``<scene>_<k>``)::

    rgb/{i}.jpg              1-based frame ids, no zero padding; pinhole, 16:9
    depth_clean/{i}.npy      float32 z-depth, metres, 0 = no hit; HoloLens-like 320x288 at focal 200
    smplx_params/{i}.npy     [69:85] world->camera 4x4 in OpenGL camera axes, [96] cx [97] cy [98] fx

Conventions handled here: OpenGL -> OpenCV (``diag(1,-1,-1,1) @ extrinsic``) then inverse for
camera-to-world; world Z-up. EgoGen stores no timestamps: frames are at ``fps`` from the folder's
dataset.json (default 30). The depth camera is assumed co-located with the RGB camera (same optical
centre and orientation) with focal 200 px at 320 px width, centred — [unverified] in the spec, and what
the synthetic layout writes.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egom2p.cameras import Pinhole
from egom2p.geometry import OPENGL_TO_OPENCV, invert_pose

from ..frames import array_source, image_source
from ..rectify import build_rectifier, center_square_target
from ..sequence import PoseTrack, Sequence, SequenceError, check_poses, check_times

DEPTH_FOCAL_AT_320 = 200.0
PARAMS_LEN = 99


def _frame_ids(folder: Path, suffix: str) -> dict[int, Path]:
    out = {}
    if folder.is_dir():
        for p in folder.iterdir():
            if p.suffix == suffix and p.stem.isdigit():
                out[int(p.stem)] = p
    return out


class EgoGenReader:
    name = "egogen"
    modalities = ("rgb", "depth", "camera")

    def list_sequences(self, root) -> list[str]:
        root = Path(root)
        return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / "rgb").is_dir())

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        fps = float((settings or {}).get("fps", 30.0))
        folder = Path(root) / sequence_id
        rgb = _frame_ids(folder / "rgb", ".jpg")
        if not rgb:
            raise SequenceError("empty sequence: no frames in rgb/")
        ids = np.array(sorted(rgb))
        times = check_times((ids - 1) / fps, "rgb frame ids")
        params = self._params(folder, ids)
        cx, cy, fx = params[0, 96:99]
        first = rgb[int(ids[0])]
        import cv2
        img = cv2.imread(str(first))
        if img is None:
            raise SequenceError(f"unreadable frame rgb/{first.name}")
        h, w = img.shape[:2]
        src = Pinhole(fx, fx, cx, cy, w, h)
        target = center_square_target(src, side)
        rect = build_rectifier(target, src.project, src_focal=fx)
        ext_cv = OPENGL_TO_OPENCV @ params[:, 69:85].reshape(-1, 4, 4)
        c2w = check_poses(invert_pose(ext_cv), "smplx_params extrinsics")
        seq = Sequence(
            dataset=self.name, sequence_id=sequence_id, frame_times=times,
            read_frames=image_source([rgb[int(i)] for i in ids], rect), intrinsics=target,
            camera=PoseTrack(times, c2w), source_files=["rgb/", "smplx_params/"],
            meta={"source_camera": src.to_dict(), "fps": fps})
        depth = _frame_ids(folder / "depth_clean", ".npy")
        if depth:
            d0 = np.load(next(iter(depth.values())), allow_pickle=False)
            dh, dw = d0.shape[:2]
            f = DEPTH_FOCAL_AT_320 * dw / 320.0
            dcam = Pinhole(f, f, (dw - 1) / 2, (dh - 1) / 2, dw, dh)
            drect = build_rectifier(target, dcam.project, src_focal=f)
            seq.read_depth = array_source([depth.get(int(i)) for i in ids], drect.depth, (side, side))
            seq.source_files.append("depth_clean/")
            seq.meta["depth_camera"] = dcam.to_dict()
        return seq

    @staticmethod
    def _params(folder: Path, ids: np.ndarray) -> np.ndarray:
        out = np.empty((len(ids), PARAMS_LEN))
        for k, i in enumerate(ids):
            p = folder / "smplx_params" / f"{i}.npy"
            if not p.exists():
                raise SequenceError(f"missing smplx_params/{i}.npy")
            try:
                v = np.load(p, allow_pickle=False).reshape(-1)
            except (ValueError, OSError) as e:
                raise SequenceError(f"unreadable smplx_params/{i}.npy: {e}") from None
            if v.size < PARAMS_LEN:
                raise SequenceError(f"smplx_params/{i}.npy has {v.size} values, expected {PARAMS_LEN}")
            out[k] = v[:PARAMS_LEN]
        if not np.isfinite(out[:, 69:85]).all():
            bad = int(np.argmin(np.isfinite(out[:, 69:85]).all(1)))
            raise SequenceError(f"non-finite (NaN/inf) pose in smplx_params/{ids[bad]}.npy")
        if not (out[:, 98] > 0).all():
            raise SequenceError("smplx_params: focal length must be positive")
        return out


READER = EgoGenReader()
