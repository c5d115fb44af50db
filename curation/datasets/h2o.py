"""H2O (ETH/Microsoft, ICCV 2021) reader, head-mounted ``cam4``. Modalities: rgb, depth, camera (no gaze).

Layout per sequence ``<subject>/<scene>/<seq_idx>/cam4/``: ``rgb/%06d.png`` (1280x720), ``depth/%06d.png``
(uint16 mm, aligned to rgb, 0 invalid), ``cam_pose/%06d.txt`` (16 numbers, 4x4 camera-to-world, metres),
``cam_intrinsics.txt`` ("fx fy cx cy width height"). Frames are at ``fps`` (dataset.json, default 30 —
[unverified] in the spec). Images are already undistorted [unverified]: pinhole.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from egom2p.cameras import Pinhole

from ..frames import image_source
from ..guard import DatasetRoot, check_intrinsic_values, check_pinhole
from ..sequence import PoseTrack, Sequence, SequenceError, check_poses, check_times
from .pinhole import depth_png_source, fit_to_image, load_text_matrix, numbered_files, rectifier_for


class H2OReader:
    name = "h2o"
    modalities = ("rgb", "depth", "camera")

    def list_sequences(self, root) -> list[str]:
        root = Path(root)
        return sorted("/".join(p.relative_to(root).parts[:-1]) for p in root.glob("*/*/*/cam4") if (p / "rgb").is_dir())

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        settings = settings or {}
        # every file read below lies in cam4/: links leaving the dataset quarantine before any is opened
        cam = DatasetRoot(root).tree(Path(root) / sequence_id / "cam4")
        rgb = numbered_files(cam / "rgb", ".png")
        if not rgb:
            raise SequenceError("empty sequence: no frames in cam4/rgb/")
        ids = sorted(rgb)
        times = check_times(np.array(ids) / float(settings.get("fps", 30.0)), "rgb frame ids")
        fx, fy, cx, cy, w, h = load_text_matrix(cam / "cam_intrinsics.txt", (6,))
        check_intrinsic_values("cam4/cam_intrinsics.txt", fx=fx, fy=fy, cx=cx, cy=cy, width=w, height=h)
        check_pinhole(Pinhole(fx, fy, cx, cy, int(w), int(h)), "cam4/cam_intrinsics.txt")
        first = cv2.imread(str(rgb[ids[0]]))
        if first is None:
            raise SequenceError(f"unreadable frame rgb/{rgb[ids[0]].name}")
        src = fit_to_image(Pinhole(fx, fy, cx, cy, int(w), int(h)), first.shape[1], first.shape[0])
        rect = rectifier_for(src, side)
        c2w = check_poses(np.stack([load_text_matrix(cam / "cam_pose" / f"{i:06d}.txt", (4, 4)) for i in ids]),
                          "cam_pose")
        seq = Sequence(self.name, sequence_id, times, image_source([rgb[i] for i in ids], rect), rect.target,
                       camera=PoseTrack(times, c2w), source_files=[f"{sequence_id}/cam4/rgb/", f"{sequence_id}/cam4/cam_pose/"],
                       meta={"source_camera": src.to_dict()})
        depth = numbered_files(cam / "depth", ".png")
        if depth:
            missing = [i for i in ids if i not in depth]
            if missing:
                raise SequenceError(f"depth/{missing[0]:06d}.png missing")
            scale = float(settings.get("depth_scale", 1000.0))
            seq.read_depth = depth_png_source([depth[i] for i in ids], first.shape[:2], scale, rect.depth)
            seq.source_files.append(f"{sequence_id}/cam4/depth/")
        return seq


READER = H2OReader()
