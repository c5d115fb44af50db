"""What HOT3D-Aria and HOT3D-Quest3 share: sequence discovery, ``headset_trajectory.csv``
and the TIME_CODE -> device-time conversion.

One folder per recording (``<root>/<recording_name>/``) with ``metadata.json`` (``"headset": "Aria" |
"Quest3"``) and ``headset_trajectory.csv``::

    object_uid,timestamp[ns],t_wo_x[m],t_wo_y[m],t_wo_z[m],q_wo_w,q_wo_x,q_wo_y,q_wo_z

rows are ``T_world_device`` (world-from-device, metres) with the quaternion **w first**, stamped in
**TIME_CODE ns** (not device time). Images (VRS or extracted) and MPS gaze are in device time, so the
trajectory's stamps are converted with the recording's timecode stream: projectaria-tools'
``convert_from_timecode_to_device_time_ns`` on ``recording.vrs``, or the extracted ``frames/timecode.csv``
(``device_time_ns,timecode_ns``). The sequence clock is device time in seconds.

Per-frame QA masks (optional, ``masks/mask_<name>.csv``: ``timestamp[ns],stream_id,mask`` with TIME_CODE
stamps of each image stream and ``True``/``False``) are honoured:

* ``mask_headset_pose_available``: trajectory rows at a stamp masked ``False`` (any stream) are dropped,
  so those frames never provide a camera pose; the clip timeline interpolates across a short gap and
  gets NaN across one longer than ``max_pose_gap_s`` (like any missing pose), and a sequence with no
  valid pose left is quarantined.
* ``mask_good_exposure``: badly exposed frames of the rectified stream stay in the RGB (they are real
  input), but their device times are listed in ``meta["bad_exposure_times_s"]`` (count in
  ``meta["bad_exposure_frames"]``) so RGB-derived supervision (depth pseudo-labels) can leave them out.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from egom2p.geometry import make_pose, quat_to_matrix, wxyz_to_xyzw

from ..rectify import Rectifier
from ..sequence import PoseTrack, Sequence, SequenceError, check_poses, check_times
from ..tables import read_csv
from .aria_common import (UPRIGHT, RawCamera, open_camera, raw_rectifier, rectified_target, rgb_frames,
                          timecode_csv_to_device)

POSE_COLUMNS = ["timestamp[ns]", "t_wo_x[m]", "t_wo_y[m]", "t_wo_z[m]", "q_wo_w", "q_wo_x", "q_wo_y", "q_wo_z"]


def read_hot3d_poses(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """A HOT3D pose CSV of one object -> (timestamps (M,) ns float64 as stored, T_world_object (M,4,4)).

    Validates finite values, unit w,x,y,z quaternions (|q| within 1e-3 of 1) and strictly increasing
    timestamps; raises SequenceError naming the row otherwise."""
    c = read_csv(path, POSE_COLUMNS)
    name = Path(path).name
    ts = check_times(c["timestamp[ns]"], name)
    q = np.stack([c["q_wo_w"], c["q_wo_x"], c["q_wo_y"], c["q_wo_z"]], -1)
    t = np.stack([c["t_wo_x[m]"], c["t_wo_y[m]"], c["t_wo_z[m]"]], -1)
    finite = np.isfinite(q).all(1) & np.isfinite(t).all(1)
    if not finite.all():
        raise SequenceError(f"{name}: non-finite (NaN/inf) pose at row {int(np.argmin(finite))}")
    off = np.abs(np.linalg.norm(q, axis=1) - 1) > 1e-3
    if off.any():
        raise SequenceError(f"{name}: quaternion not unit length at row {int(np.argmax(off))}")
    return ts, check_poses(make_pose(quat_to_matrix(wxyz_to_xyzw(q)), t), name)


def read_hot3d_mask(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A HOT3D QA mask CSV -> (TIME_CODE ns (K,) int64, stream_id (K,) str, mask (K,) bool).

    Raises SequenceError naming the file for a missing column or a value that is not True/False."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    path = Path(path)
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            column_types={"timestamp[ns]": pa.int64(), "stream_id": pa.string(), "mask": pa.bool_()}))
    except (pa.ArrowInvalid, OSError) as e:
        raise SequenceError(f"{path.name}: unreadable mask CSV ({str(e).splitlines()[0]})") from None
    missing = [c for c in ("timestamp[ns]", "stream_id", "mask") if c not in table.column_names]
    if missing:
        raise SequenceError(f"{path.name}: missing column(s) {', '.join(missing)}")
    mask = table.column("mask")
    if mask.null_count:
        raise SequenceError(f"{path.name}: empty mask value")
    return (table.column("timestamp[ns]").to_numpy(zero_copy_only=False).astype(np.int64),
            np.asarray(table.column("stream_id").to_pylist(), dtype=str),
            mask.to_numpy(zero_copy_only=False).astype(bool))


def headset_pose_mask(seq_dir: Path, tc_ns: np.ndarray) -> np.ndarray:
    """(M,) bool: trajectory rows at ``tc_ns`` (TIME_CODE ns) whose headset pose is available (all True
    without ``masks/mask_headset_pose_available.csv``; a stamp masked False on any stream is unavailable)."""
    path = seq_dir / "masks" / "mask_headset_pose_available.csv"
    if not path.exists():
        return np.ones(len(tc_ns), bool)
    ts, _, ok = read_hot3d_mask(path)
    return ~np.isin(np.asarray(tc_ns, np.float64).round().astype(np.int64), ts[~ok])


def read_metadata(seq_dir: Path) -> dict:
    p = seq_dir / "metadata.json"
    if not p.exists():
        raise SequenceError("missing metadata.json")
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as e:
        raise SequenceError(f"metadata.json: invalid JSON ({e})") from None


class Hot3dReader:
    """Base of the two HOT3D readers; subclasses set the headset, camera stream and calibration source."""
    name = ""
    modalities: tuple[str, ...] = ()
    headset = ""
    stream_id = ""
    label = ""
    upright = False          # Aria RGB is stored rotated 90°; the rectified camera is the upright one

    def list_sequences(self, root) -> list[str]:
        out = []
        for p in sorted(Path(root).iterdir()):
            if p.is_dir() and (p / "metadata.json").exists():
                try:
                    headset = read_metadata(p).get("headset")
                except SequenceError:
                    headset = self.headset   # listed, then quarantined with the JSON error by open()
                if headset == self.headset:
                    out.append(p.name)
        return out

    def calibration_json(self, seq_dir: Path) -> Path | None:
        """Calibration file overriding the VRS one (None: VRS calib_json / extracted calibration.json)."""
        return None

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        seq_dir = Path(root) / sequence_id
        meta = read_metadata(seq_dir)
        if meta.get("headset") != self.headset:
            raise SequenceError(f"metadata.json: headset {meta.get('headset')!r}, expected {self.headset!r}")
        cam = open_camera(seq_dir, "recording.vrs", self.stream_id, self.label, self.calibration_json(seq_dir))
        times = check_times(cam.stream.times_ns * 1e-9, f"{self.stream_id} frame timestamps")
        target = rectified_target(side, settings)
        rect: Rectifier = raw_rectifier(target, cam.calib.lens, self.upright)
        T_device_rect = cam.calib.T_device_camera @ (UPRIGHT if self.upright else np.eye(4))
        seq = Sequence(dataset=self.name, sequence_id=sequence_id, frame_times=times,
                       read_frames=rgb_frames(cam.stream, rect), intrinsics=target,
                       source_files=list(cam.stream.files),
                       meta={"source_camera": cam.calib.lens.to_dict(), "stream_id": self.stream_id,
                             "T_device_camera": cam.calib.T_device_camera.tolist(),
                             "participant_id": meta.get("participant_id"), "headset": self.headset})
        tc_ns, T_world_device = read_hot3d_poses(seq_dir / "headset_trajectory.csv")
        to_device = self.timecode_to_device(seq_dir, cam)
        keep = headset_pose_mask(seq_dir, tc_ns)
        if not keep.any():
            raise SequenceError("mask_headset_pose_available.csv: no trajectory row has a headset pose")
        device_ns = to_device(tc_ns[keep])
        seq.camera = PoseTrack(check_times(device_ns * 1e-9, "headset_trajectory.csv (device time)"),
                               T_world_device[keep] @ T_device_rect)
        seq.source_files.append("headset_trajectory.csv")
        self.add_masks(seq, seq_dir, to_device, int((~keep).sum()))
        self.add_gaze(seq, seq_dir, cam, T_device_rect, target)
        return seq

    def add_masks(self, seq: Sequence, seq_dir: Path, to_device, dropped_poses: int) -> None:
        """Record the QA masks used: pose rows dropped, badly exposed frames of this camera stream."""
        masks = seq_dir / "masks"
        if not masks.is_dir():
            return
        seq.meta["masked_pose_rows"] = dropped_poses
        if (masks / "mask_headset_pose_available.csv").exists():
            seq.source_files.append("masks/mask_headset_pose_available.csv")
        path = masks / "mask_good_exposure.csv"
        if path.exists():
            ts, stream, ok = read_hot3d_mask(path)
            bad = np.asarray(to_device(ts[(stream == self.stream_id) & ~ok]), np.float64) * 1e-9
            seq.meta["bad_exposure_frames"] = int(bad.size)
            seq.meta["bad_exposure_times_s"] = [float(t) for t in bad]
            seq.source_files.append("masks/mask_good_exposure.csv")

    @staticmethod
    def timecode_to_device(seq_dir: Path, cam: RawCamera):
        if cam.vrs is not None:
            return cam.vrs.timecode_to_device_ns
        path = seq_dir / "frames" / "timecode.csv"
        if not path.exists():
            raise SequenceError("no TIME_CODE -> device time mapping (recording.vrs or frames/timecode.csv)")
        return timecode_csv_to_device(path)

    def add_gaze(self, seq: Sequence, seq_dir: Path, cam: RawCamera, T_device_rect: np.ndarray, target) -> None:
        """Attach gaze (HOT3D-Aria only)."""
