"""TACO (Tsinghua, CVPR 2024) reader, egocentric camera. Modalities: rgb, depth, camera.

Layout per sequence ``<triplet>/<seq>`` (e.g. ``(stir, spoon, bowl)/20231105_019``):
``Egocentric_RGB_Videos/<id>/color.mp4`` (1920x1080, 30 fps), ``Egocentric_Depth_Videos/<id>/egocentric_depth.avi``
(uint16 aligned to RGB; scale 4000 = 0.25 mm units per the current README — the older README said 1000,
so the scale is a dataset.json setting ``depth_scale`` and implausible depth quarantines with a hint),
``Egocentric_Camera_Parameters/<id>/egocentric_intrinsic.txt`` (3x3) and ``egocentric_frame_extrinsic.npy``
((N,4,4) world_to_camera, metres, one per video frame). As TACO's own code does, a sequence whose video
frame count differs from N is skipped (quarantined).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from egom2p.cameras import Pinhole
from egom2p.geometry import invert_pose
from egom2p.video import VideoError, probe

from ..frames import video_source
from ..guard import DatasetRoot, check_depth, check_pinhole, load_npy, video_reason
from ..sequence import PoseTrack, Sequence, SequenceError, check_poses, check_times
from .pinhole import check_depth_scale, load_text_matrix, rectifier_for

RGB, DEPTH, PARAMS = "Egocentric_RGB_Videos", "Egocentric_Depth_Videos", "Egocentric_Camera_Parameters"


class TACOReader:
    name = "taco"
    modalities = ("rgb", "depth", "camera")

    def list_sequences(self, root) -> list[str]:
        root = Path(root) / RGB
        return sorted("/".join(p.relative_to(root).parts[:2]) for p in root.glob("*/*/color.mp4"))

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        settings = settings or {}
        root = Path(root)
        guard = DatasetRoot(root)
        # the three per-sequence folders hold every file read below: links leaving the dataset quarantine
        # the sequence before any is opened
        for top in (RGB, PARAMS, DEPTH):
            if (root / top / sequence_id).exists():
                guard.tree(root / top / sequence_id)
        video = root / RGB / sequence_id / "color.mp4"
        try:
            info = probe(video)
        except VideoError as e:
            raise SequenceError(video_reason(video, e)) from None
        params = root / PARAMS / sequence_id
        ext_path = params / "egocentric_frame_extrinsic.npy"
        if not ext_path.exists():
            raise SequenceError("missing file egocentric_frame_extrinsic.npy")
        w2c = load_npy(ext_path, kinds="fiu", shape=(None, 4, 4), name=ext_path.name)
        if not np.isfinite(w2c).all():
            raise SequenceError("egocentric_frame_extrinsic.npy: non-finite (NaN/inf) pose")
        n = len(w2c)
        if info.frames is not None and info.frames != n:
            raise SequenceError(f"color.mp4 has {info.frames} frames but egocentric_frame_extrinsic.npy has {n}")
        if n == 0:
            raise SequenceError("empty sequence: no extrinsics")
        K = load_text_matrix(params / "egocentric_intrinsic.txt", (3, 3))
        src = check_pinhole(Pinhole(K[0, 0], K[1, 1], K[0, 2], K[1, 2], info.width, info.height),
                            "egocentric_intrinsic.txt")
        rect = rectifier_for(src, side)
        times = check_times(np.arange(n) / (info.fps or 30.0), "frames")
        c2w = check_poses(invert_pose(w2c), "egocentric_frame_extrinsic.npy")
        seq = Sequence(self.name, sequence_id, times, video_source(video, n, rect), rect.target,
                       camera=PoseTrack(times, c2w), source_files=[str(video.relative_to(root)), str(ext_path.relative_to(root))],
                       meta={"source_camera": src.to_dict()})
        depth = root / DEPTH / sequence_id / "egocentric_depth.avi"
        if depth.exists():
            scale = float(settings.get("depth_scale", 4000.0))

            def to_metres(d16: np.ndarray) -> np.ndarray:
                # aligned to RGB: another size would put depth at the wrong pixels
                check_depth(d16, "egocentric_depth.avi", size=(info.height, info.width), kinds="u",
                            expect="uint16")
                d = d16.astype(np.float32) / scale
                check_depth_scale(d, "egocentric_depth.avi")
                return rect.depth(d)
            seq.read_depth = video_source(depth, n, to_metres, pix_fmt="gray16le")
            seq.source_files.append(str(depth.relative_to(root)))
        return seq


READER = TACOReader()
