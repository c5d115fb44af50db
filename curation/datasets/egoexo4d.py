"""Ego-Exo4D reader (ego Aria stream). Modalities: rgb, gaze, camera (no depth).

Native layout used::

    takes.json                                    take_name, timesync_start_idx/end_idx, frame_aligned_videos
    captures/<capture>/timesync.csv               aria01_214-1_capture_timestamp_ns (device ns) per synced row
    takes/<take>/frame_aligned_videos/aria01_214-1.mp4   RGB, stored rotated 90° clockwise vs the raw sensor
    takes/<take>/trajectory/closed_loop_trajectory.csv   T_world_device, qx..qw, device µs, Z-up world
    takes/<take>/trajectory/online_calibration.jsonl     camera-rgb FISHEYE624 (at 2880²) + T_device_rgb
    takes/<take>/eye_gaze/general_eye_gaze.csv           yaw/pitch in CPF (any MPS schema)

Take rows are ``timesync_start_idx + 1 … timesync_end_idx`` (end inclusive, the metadata doc); mp4 frame
i is row ``start + 1 + i``. Rectified camera: a square pinhole with ``hfov_deg`` (default 90°) along the
upright RGB camera's axis. Gaze goes CPF -> device with the CAD ``T_device_cpf`` (CPF exists only in CAD
space) and device -> RGB with the *calibration's* ``T_device_rgb`` — the same extrinsics that define the
image geometry, as projectaria-tools 2.3.0's ``get_gaze_vector_reprojection`` does — then into the
rectified pinhole. Missing gaze depth uses 1 m, as Ego-Exo4D does.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from egom2p.aria import RAW_FROM_UPRIGHT
from egom2p.cameras import square_pinhole
from egom2p.geometry import make_pose
from egom2p.video import VideoError, probe

from ..aria_mps import read_closed_loop_trajectory, read_eye_gaze, read_online_calibration
from ..frames import video_source
from ..guard import DatasetRoot, check_fisheye, parse_reason, video_reason
from ..rectify import build_rectifier, rotate_cw_pixels
from ..sequence import GazeTrack, PoseTrack, Sequence, SequenceError, check_times
from ..tables import read_csv
from .aria_common import project_gaze

DEFAULT_HFOV_DEG = 90.0
CALIB_RESOLUTION = 2880
UPRIGHT = make_pose(RAW_FROM_UPRIGHT, np.zeros(3))


def capture_name(take_name: str) -> str:
    """Capture of a take: the take name minus its trailing ``_<n>``."""
    return re.sub(r"_\d+$", "", take_name)


class EgoExo4DReader:
    name = "egoexo4d"
    modalities = ("rgb", "gaze", "camera")

    def _takes(self, root: Path) -> dict[str, dict]:
        path = DatasetRoot(root).check(root / "takes.json")
        if not path.exists():
            raise SequenceError("missing takes.json")
        try:
            takes = json.loads(path.read_text())
            return {t["take_name"]: t for t in takes if isinstance(t, dict)}
        except (ValueError, UnicodeDecodeError) as e:
            raise SequenceError(parse_reason("takes.json", e)) from None
        except (KeyError, TypeError):
            raise SequenceError("takes.json: expected a list of takes, each with a take_name") from None

    def list_sequences(self, root) -> list[str]:
        root = Path(root)
        return sorted(name for name in self._takes(root) if (root / "takes" / name).is_dir())

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        settings = settings or {}
        root = Path(root)
        guard = DatasetRoot(root)
        take = self._takes(root).get(sequence_id)
        if take is None:
            raise SequenceError(f"take {sequence_id} not in takes.json")
        root_dir = take.get("root_dir", f"takes/{sequence_id}")
        if not isinstance(root_dir, str):
            raise SequenceError(f"takes.json: root_dir of take {sequence_id} is not a path")
        # root_dir comes from the dataset's own JSON: it (and every link under it) must stay in the
        # dataset folder, checked before anything in it is opened
        take_dir = guard.tree(guard.check(root / root_dir, f"takes.json root_dir of take {sequence_id}"))
        aria_id, rel = self._aria_rgb(take)
        times = self._frame_times(root, take, aria_id)
        video = guard.check(take_dir / rel, f"takes.json relative_path of take {sequence_id}")
        try:
            info = probe(video)
        except VideoError as e:
            raise SequenceError(video_reason(video, e)) from None
        if info.width != info.height:
            raise SequenceError(f"{video.name}: Aria RGB must be square, got {info.width}x{info.height}")
        if info.frames is not None and info.frames < len(times):
            raise SequenceError(f"video truncated: {video.name} has {info.frames} of {len(times)} frames")

        try:
            calib = read_online_calibration(take_dir / "trajectory" / "online_calibration.jsonl", "camera-rgb",
                                            CALIB_RESOLUTION)
        except KeyError as e:
            raise SequenceError(f"online_calibration.jsonl: camera-rgb entry missing key {e.args[0]}") from None
        except (IndexError, TypeError, ValueError):
            raise SequenceError("online_calibration.jsonl: camera-rgb entry malformed "
                                "(T_Device_Camera / Projection values of the wrong type or length)") from None
        lens = check_fisheye(calib.model, "online_calibration.jsonl camera-rgb").scaled(info.width / CALIB_RESOLUTION)
        target = square_pinhole(side, float(settings.get("hfov_deg", DEFAULT_HFOV_DEG)))
        rect = build_rectifier(target, lens.project, RAW_FROM_UPRIGHT, rotate_cw_pixels(info.width),
                               src_focal=lens.params[0])
        T_device_upright = calib.T_device_camera @ UPRIGHT

        seq = Sequence(dataset=self.name, sequence_id=sequence_id, frame_times=times,
                       read_frames=video_source(video, len(times), rect), intrinsics=target,
                       source_files=[str(video.relative_to(root))],
                       meta={"take_uid": take.get("take_uid"), "source_camera": lens.to_dict(),
                             "T_device_rgb": calib.T_device_camera.tolist()})
        traj = take_dir / "trajectory" / "closed_loop_trajectory.csv"
        if traj.exists():
            t, T_world_device = read_closed_loop_trajectory(traj)
            seq.camera = PoseTrack(t, T_world_device @ T_device_upright)
            seq.source_files.append(str(traj.relative_to(root)))
        gaze_csv = take_dir / "eye_gaze" / "general_eye_gaze.csv"
        if gaze_csv.exists():
            g = read_eye_gaze(gaze_csv)
            seq.gaze = GazeTrack(g.times, project_gaze(g, T_device_upright, target))
            seq.source_files.append(str(gaze_csv.relative_to(root)))
            seq.meta["gaze_schema"] = g.schema
        return seq

    @staticmethod
    def _aria_rgb(take: dict) -> tuple[str, str]:
        videos = take.get("frame_aligned_videos") or {}
        if not isinstance(videos, dict):
            raise SequenceError("takes.json: frame_aligned_videos is not an object")
        for cam_id, streams in videos.items():
            if cam_id.startswith("aria") and isinstance(streams, dict) and "rgb" in streams:
                rel = streams["rgb"].get("relative_path") if isinstance(streams["rgb"], dict) else None
                if not isinstance(rel, str):
                    raise SequenceError(f"takes.json: {cam_id} rgb stream has no relative_path")
                return cam_id, rel
        raise SequenceError("takes.json: no Aria rgb stream in frame_aligned_videos")

    @staticmethod
    def _frame_times(root: Path, take: dict, aria_id: str) -> np.ndarray:
        try:
            start, end = int(take["timesync_start_idx"]), int(take["timesync_end_idx"])
        except KeyError as e:
            raise SequenceError(f"takes.json: take {take.get('take_name')} missing key {e.args[0]}") from None
        except (TypeError, ValueError):
            raise SequenceError(f"takes.json: take {take.get('take_name')} timesync indices are not integers") from None
        if end <= start:
            raise SequenceError(f"empty sequence: timesync rows {start + 1}..{end}")
        col = f"{aria_id}_214-1_capture_timestamp_ns"
        timesync = DatasetRoot(root).check(root / "captures" / capture_name(take["take_name"]) / "timesync.csv")
        ts = read_csv(timesync, [col])[col]
        if len(ts) < end + 1:
            raise SequenceError(f"timesync.csv has {len(ts)} rows, take needs rows up to {end}")
        return check_times(ts[start + 1:end + 1] * 1e-9, "timesync.csv")


READER = EgoExo4DReader()
