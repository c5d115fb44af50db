"""Aria Digital Twin reader (evaluation set). Modalities: rgb, depth, gaze, camera.

Native layout, one folder per sequence (``<root>/<seq>/``, any folder holding ``aria_trajectory.csv``)::

    video.vrs              stream 214-1 camera-rgb, 1408² JPEG, raw (sensor) orientation, device ns;
                           FISHEYE624 (15 params) factory calibration in the VRS calib_json
    depth_images.vrs       stream 345-1: GT z-depth, uint16 millimetres, in the raw RGB geometry
    aria_trajectory.csv    MPS closed-loop schema: T_Scene_Device (scene-from-device, metres, q x,y,z,w),
                           tracking_timestamp_us = device µs; the ADT scene is **Y-up** (gravity 0,-9.81,0)
    eyegaze.csv            legacy v1 MPS gaze (yaw/pitch rad in CPF, depth_m filled, 0 = unknown -> 1 m)
    metadata.json          serial, scene, gt_time_domain "DEVICE_CAPTURE", …

or the extracted form (aria_common): ``frames/214-1/<device_ns>.jpg`` + ``frames/calibration.json`` and
``depth/345-1/<device_ns>.png`` (16-bit PNG, mm) in place of the two VRS files.

Conventions handled here:

- Clock: device capture time (s) for frames, depth, trajectory (µs x 1e-6) and gaze.
- World: the Y-up scene is rotated to the project's Z-up convention, ``T_world_scene`` maps scene +Y to
  world +Z (x stays x). Poses are of the rectified (upright) camera: ``T_world_scene · T_scene_device ·
  T_device_rgb · T_raw_upright``.
- Ground truth is generated per RGB frame but stamped ~97 µs after ``capture_timestamp_ns``; tracks are
  held at their edge samples within ``GT_TOLERANCE_S`` (projectaria-tools' CLOSEST lookup), and each
  frame takes the depth map nearest in time within the same tolerance (NaN map when none).
- Gaze extrinsics: **factory** ``T_device_rgb`` from the calibration, not CAD. The image geometry (lens,
  camera pose, depth) is defined by the factory calibration, so projecting gaze with the same
  extrinsics keeps gaze pixel, pose and depth mutually consistent; it is also what projectaria-tools
  2.3.0's ``get_gaze_vector_reprojection`` does. First sample golden value (raw 1408² image):
  (1026.146, 713.529); CAD would give (1036.006, 715.541), ~10 px away.
  ``T_device_cpf`` is CAD (CPF exists only in CAD space).

Evaluation mode: ADT sequences shorter than one 2 s clip (like the 3-frame public sample) are quarantined
"shorter than one clip" by default; ``CurationConfig(allow_short=True)`` curates them as one clip padded
with the last frame, with ``valid_frames`` in the clip meta and NaN gaze/depth on padded frames.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import numpy as np

from egom2p.geometry import make_pose

from ..aria_mps import read_closed_loop_trajectory, read_eye_gaze
from ..guard import check_depth, check_depth_range, parse_reason
from ..sequence import GazeTrack, PoseTrack, Sequence, SequenceError, check_times
from .aria_common import (UPRIGHT, ImageStream, RawCamera, VrsRecording, extracted_stream, guard_sequence,
                          hold_edges, nearest_within, open_camera, project_gaze, raw_rectifier, rectified_target,
                          rgb_frames, sequence_dirs)

GT_TOLERANCE_S = 1e-3
DEPTH_STREAM = "345-1"
# scene (Y-up) -> world (Z-up): (x, y, z) -> (x, -z, y)
T_WORLD_SCENE = make_pose(np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]]), np.zeros(3))


class ADTReader:
    name = "adt"
    modalities = ("rgb", "depth", "gaze", "camera")

    def list_sequences(self, root) -> list[str]:
        return sequence_dirs(root, "aria_trajectory.csv")

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        seq_dir = guard_sequence(root, sequence_id)   # links leaving the dataset: quarantined unopened
        cam = open_camera(seq_dir, "video.vrs", "214-1", "camera-rgb")
        frame_ns = cam.stream.times_ns
        times = check_times(frame_ns * 1e-9, "RGB frame timestamps")
        target = rectified_target(side, settings)
        rect = raw_rectifier(target, cam.calib.lens, upright=True)
        T_device_rect = cam.calib.T_device_camera @ UPRIGHT
        seq = Sequence(dataset=self.name, sequence_id=sequence_id, frame_times=times,
                       read_frames=rgb_frames(cam.stream, rect), intrinsics=target,
                       source_files=list(cam.stream.files),
                       meta={"source_camera": cam.calib.lens.to_dict(), "T_device_rgb": cam.calib.T_device_camera.tolist(),
                             "gaze_extrinsics": "factory", "world": "ADT scene (Y-up) rotated to Z-up",
                             "cad_build": cam.build, **self._metadata(seq_dir)})

        t, T_scene_device = read_closed_loop_trajectory(seq_dir / "aria_trajectory.csv")
        t, T = hold_edges(t, T_WORLD_SCENE @ T_scene_device @ T_device_rect, times[0], times[-1], GT_TOLERANCE_S)
        seq.camera = PoseTrack(t, T)
        seq.source_files.append("aria_trajectory.csv")

        gaze_csv = seq_dir / "eyegaze.csv"
        if gaze_csv.exists():
            g = read_eye_gaze(gaze_csv)
            gt, uv = hold_edges(g.times, project_gaze(g, T_device_rect, target, cam.build), times[0], times[-1],
                                GT_TOLERANCE_S)
            seq.gaze = GazeTrack(gt, uv)
            seq.source_files.append("eyegaze.csv")
            seq.meta["gaze_schema"] = g.schema

        depth = self._depth_stream(seq_dir, cam)
        if depth is not None:
            match = nearest_within(depth.times_ns, frame_ns, int(GT_TOLERANCE_S * 1e9))
            if (match < 0).all():
                raise SequenceError(f"depth: no depth map within {GT_TOLERANCE_S * 1e3:g} ms of any RGB frame")
            seq.read_depth = self._depth_reader(depth, match, rect, cam)
            seq.source_files += depth.files
        return seq

    @staticmethod
    def _metadata(seq_dir: Path) -> dict:
        p = seq_dir / "metadata.json"
        if not p.exists():
            return {}
        try:
            m = json.loads(p.read_text())
        except (ValueError, UnicodeDecodeError) as e:
            raise SequenceError(parse_reason("metadata.json", e)) from None
        if not isinstance(m, dict):
            raise SequenceError("metadata.json: expected a JSON object")
        return {k: m[k] for k in ("serial", "scene", "gt_time_domain", "dataset_version") if k in m}

    @staticmethod
    def _depth_stream(seq_dir: Path, cam: RawCamera) -> ImageStream | None:
        if (seq_dir / "depth_images.vrs").exists():
            return VrsRecording(seq_dir / "depth_images.vrs").stream(DEPTH_STREAM)
        if (seq_dir / "depth" / DEPTH_STREAM).is_dir():
            return extracted_stream(seq_dir / "depth" / DEPTH_STREAM, "depth")
        return None

    @staticmethod
    def _depth_reader(depth: ImageStream, match: np.ndarray, rect, cam: RawCamera):
        """Rectified (S,S) float32 z-depth in metres (NaN unknown) for source frame indices."""
        size = (cam.calib.lens.height, cam.calib.lens.width)
        S = rect.target.width

        def read(indices: np.ndarray) -> Iterator[np.ndarray]:
            last, out = None, None
            for i in indices:
                j = int(match[i])
                if j != last:
                    if j < 0:
                        out = np.full((S, S), np.nan, np.float32)
                    else:
                        mm = next(depth.read(np.array([j])))
                        what = depth.frame_name(j)
                        check_depth(mm, what, kinds="u", expect="uint16 millimetres")   # one channel
                        if mm.dtype != np.uint16:
                            raise SequenceError(f"{what}: {mm.dtype.itemsize * 8}-bit depth, dtype {mm.dtype}, "
                                                f"expected uint16 millimetres")
                        if mm.shape != size:
                            raise SequenceError(f"{what}: depth shape {mm.shape} != RGB image {size}")
                        out = rect.depth(check_depth_range(mm.astype(np.float32) * 1e-3, what))
                    last = j
                yield out
        return read


READER = ADTReader()
