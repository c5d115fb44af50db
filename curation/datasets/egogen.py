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
from typing import Callable, Iterator

import numpy as np

from egom2p.cameras import Pinhole
from egom2p.geometry import OPENGL_TO_OPENCV, invert_pose

from ..frames import image_source
from ..guard import DatasetRoot, check_depth, check_depth_range, check_pinhole, load_npy
from ..rectify import Rectifier, build_rectifier, center_square_target
from ..sequence import PoseTrack, Sequence, SequenceError, check_poses, check_times

DEPTH_FOCAL_AT_320 = 200.0
PARAMS_LEN = 99
MAX_PARAMS = 4096          # a params vector is ~100 floats; a header claiming more is corrupt
DEPTH_KINDS = "fiub"       # loaded, then check_depth says why a non-float map is wrong


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
        # every file read below lies in the sequence folder: links leaving the dataset quarantine first
        folder = DatasetRoot(root).tree(Path(root) / sequence_id)
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
        src = check_pinhole(Pinhole(fx, fx, cx, cy, w, h), f"smplx_params/{ids[0]}.npy")
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
            p0 = depth[min(depth)]
            d0 = self._depth_map(p0, None)
            dh, dw = d0.shape
            f = DEPTH_FOCAL_AT_320 * dw / 320.0
            dcam = Pinhole(f, f, (dw - 1) / 2, (dh - 1) / 2, dw, dh)
            drect = build_rectifier(target, dcam.project, src_focal=f)
            seq.read_depth = self._depth_source([depth.get(int(i)) for i in ids], (dh, dw), drect)
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
            v = load_npy(p, kinds="fiu", max_size=MAX_PARAMS).reshape(-1)
            if v.size < PARAMS_LEN:
                raise SequenceError(f"smplx_params/{i}.npy has {v.size} values, expected {PARAMS_LEN}")
            out[k] = v[:PARAMS_LEN]
        if not np.isfinite(out[:, 69:85]).all():
            bad = int(np.argmin(np.isfinite(out[:, 69:85]).all(1)))
            raise SequenceError(f"non-finite (NaN/inf) pose in smplx_params/{ids[bad]}.npy")
        if not (out[:, 98] > 0).all():
            bad = int(np.argmin(out[:, 98] > 0))
            raise SequenceError(f"smplx_params/{ids[bad]}.npy: focal length must be positive (fx={out[bad, 98]:g})")
        return out

    @staticmethod
    def _depth_map(path: Path, size: tuple[int, int] | None) -> np.ndarray:
        """One depth_clean map: (H, W) float metres of the sequence's one size (``size``, None = the
        first map), header checked before loading; integer maps (millimetres) and implausible medians
        are refused with the unit problem named."""
        what = f"depth_clean/{path.name}"
        d = load_npy(path, kinds=DEPTH_KINDS, ndim=(2, 3), name=what)
        check_depth(d, what, size=size, kinds="f", expect="float metres (integer depth looks like millimetres)")
        return check_depth_range(d, what)

    def _depth_source(self, paths: list[Path | None], size: tuple[int, int], rect: Rectifier
                      ) -> Callable[[np.ndarray], Iterator[np.ndarray]]:
        """Rectified (S,S) float32 metres per source frame index; a missing map is all NaN."""
        S = rect.target.width

        def read(indices: np.ndarray) -> Iterator[np.ndarray]:
            last, out = None, None
            for j in indices:
                if j != last:
                    p = paths[j]
                    out = (np.full((S, S), np.nan, np.float32) if p is None
                           else rect.depth(self._depth_map(p, size)))
                    last = j
                yield out
        return read


READER = EgoGenReader()
