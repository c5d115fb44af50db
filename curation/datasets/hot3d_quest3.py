"""HOT3D-Quest3 reader. Modalities: rgb (mono SLAM camera as grey -> 3 channels), camera.
No gaze (Quest 3 has no eye tracking in HOT3D), no depth.

Per recording (``metadata.json`` with ``"headset": "Quest3"``; shared parts in :mod:`.hot3d_common`)::

    recording.vrs            streams 1201-1 / 1201-2: 1280x1024 grey (camera-slam-left/right), device ns
    camera_models.json       list of {T_Device_Camera {quaternion_wxyz, translation_xyz}, imageWidth,
                             imageHeight, label, projectionModelType FISHEYE624, projectionParams: **16**
                             values fx, fy, cx, cy, k0..k5, p0, p1, s0..s3, serialNumber, stream_id}
    headset_trajectory.csv   T_world_device, q w,x,y,z, TIME_CODE ns

or the extracted form: ``frames/1201-1/<device_ns>.{jpg,png}`` and ``frames/timecode.csv`` in place of
``recording.vrs`` (the calibration stays ``camera_models.json``).

The left SLAM camera (1201-1) is the ego stream. Its images are used as stored (no rotation); the
rectified camera is a square pinhole on the camera's own axes. [unverified]: no public Quest3 VRS sample
exists, so the VRS path of this reader (stream 1201-1, timecode conversion) is untested on real data.
"""
from __future__ import annotations

from pathlib import Path

from ..sequence import Sequence
from .aria_common import guard_sequence
from .hot3d_common import Hot3dReader


class Hot3dQuest3Reader(Hot3dReader):
    name = "hot3d_quest3"
    modalities = ("rgb", "camera")
    headset = "Quest3"
    stream_id = "1201-1"
    label = "camera-slam-left"
    upright = False

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        """The shared HOT3D open, after the sequence folder passed the dataset-folder guard."""
        guard_sequence(root, sequence_id)
        return super().open(root, sequence_id, side, settings)

    def calibration_json(self, seq_dir: Path) -> Path | None:
        return seq_dir / "camera_models.json"


READER = Hot3dQuest3Reader()
