"""HOT3D-Aria reader. Modalities: rgb, gaze, camera (no depth).

Per recording (``metadata.json`` with ``"headset": "Aria"``; shared parts in :mod:`.hot3d_common`)::

    recording.vrs                     stream 214-1 camera-rgb 1408², raw (sensor) orientation, device ns;
                                      FISHEYE624 (15 params) calibration in the VRS calib_json; timecode
                                      stream 285-2
    headset_trajectory.csv            T_world_device, q w,x,y,z, TIME_CODE ns
    mps/eye_gaze/personalized_eye_gaze.csv | general_eye_gaze.csv
                                      MPS gaze, vergence schema, device µs (personalized wins)

or the extracted form: ``frames/214-1/<device_ns>.jpg`` (raw orientation), ``frames/calibration.json``
(HOT3D-Clips calibration schema) and ``frames/timecode.csv`` in place of ``recording.vrs``.

Rectified camera: the upright RGB camera (raw image rotated 90° clockwise), square pinhole. Gaze: CPF
-> device with CAD ``T_device_cpf``, device -> RGB with the *calibration's* ``T_device_rgb`` (the same
choice as ADT, see :mod:`.adt`); vergence depth is used when present, else 1 m.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..aria_mps import read_eye_gaze
from ..sequence import GazeTrack, Sequence
from .aria_common import RawCamera, guard_sequence, project_gaze
from .hot3d_common import Hot3dReader

GAZE_FILES = ("personalized_eye_gaze.csv", "general_eye_gaze.csv")


class Hot3dAriaReader(Hot3dReader):
    name = "hot3d_aria"
    modalities = ("rgb", "gaze", "camera")
    headset = "Aria"
    stream_id = "214-1"
    label = "camera-rgb"
    upright = True

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        """The shared HOT3D open, after the sequence folder passed the dataset-folder guard."""
        guard_sequence(root, sequence_id)
        return super().open(root, sequence_id, side, settings)

    def add_gaze(self, seq: Sequence, seq_dir: Path, cam: RawCamera, T_device_rect: np.ndarray, target) -> None:
        for name in GAZE_FILES:
            path = seq_dir / "mps" / "eye_gaze" / name
            if path.exists():
                g = read_eye_gaze(path)
                seq.gaze = GazeTrack(g.times, project_gaze(g, T_device_rect, target, cam.build))
                seq.source_files.append(f"mps/eye_gaze/{name}")
                seq.meta.update(gaze_schema=g.schema, gaze_extrinsics="factory")
                return


READER = Hot3dAriaReader()
