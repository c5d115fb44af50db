"""ARCTIC (MPI/ETH, CVPR 2023) reader, egocentric view 0. Modalities: rgb, camera.

Layout (under ``arctic_data/data/``): ``images/<sid>/<seq>/0/<NNNNN>.jpg`` (distorted, 2800x2000),
``raw_seqs/<sid>/<seq>.egocam.dist.npy`` (pickled dict: ``R_k_cam_np`` (F,3,3), ``T_k_cam_np`` (F,3,1)
world->camera, ``intrinsics`` (3,3), ``dist8`` OpenCV rational k1,k2,p1,p2,k3,k4,k5,k6), ``meta/misc.json``
(``ioi_offset`` per subject: image stem s is ground-truth index ``s - ioi_offset``; images without ground
truth are skipped). The pickle is read with a restricted unpickler (curation/safe_pickle.py), never with
``allow_pickle=True``. Rectification undistorts into the square pinhole frame. 30 fps ([unverified] in
the spec; dataset.json ``fps``).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from egom2p.cameras import OpenCVRational
from egom2p.geometry import invert_pose, make_pose

from ..frames import image_source
from ..guard import DatasetRoot, check_pinhole, npy_header, parse_reason
from ..safe_pickle import load_pickled_npy
from ..sequence import PoseTrack, Sequence, SequenceError, check_poses, check_times
from .pinhole import numbered_files, rectifier_for

DATA = Path("arctic_data") / "data"


class ARCTICReader:
    name = "arctic"
    modalities = ("rgb", "camera")

    def list_sequences(self, root) -> list[str]:
        images = Path(root) / DATA / "images"
        return sorted(f"{p.parent.parent.name}/{p.parent.name}" for p in images.glob("*/*/0") if p.is_dir())

    def open(self, root, sequence_id: str, side: int, settings: dict | None = None) -> Sequence:
        settings = settings or {}
        data = Path(root) / DATA
        guard = DatasetRoot(root)
        sid, name = sequence_id.split("/")
        # links leaving the dataset quarantine the sequence before any of its files is opened
        images = numbered_files(guard.tree(data / "images" / sid / name / "0"), ".jpg")
        egocam_path = guard.check(data / "raw_seqs" / sid / f"{name}.egocam.dist.npy")
        if not egocam_path.exists():
            raise SequenceError(f"missing file raw_seqs/{sid}/{name}.egocam.dist.npy")
        # the header first: a plain array (however large its claimed shape) is never loaded
        _, dtype = npy_header(egocam_path, egocam_path.name)
        egocam = load_pickled_npy(egocam_path) if dtype.hasobject else np.empty(0)
        if not isinstance(egocam, dict):
            raise SequenceError(f"{egocam_path.name}: expected a pickled dict of camera arrays, "
                                f"got {type(egocam).__name__}")
        missing = [k for k in ("R_k_cam_np", "T_k_cam_np", "intrinsics", "dist8") if k not in egocam]
        if missing:
            raise SequenceError(f"{egocam_path.name}: missing key {', '.join(missing)}")
        try:
            R, T = np.asarray(egocam["R_k_cam_np"], float), np.asarray(egocam["T_k_cam_np"], float)
            K, dist = np.asarray(egocam["intrinsics"], float), np.asarray(egocam["dist8"], float)
        except (ValueError, TypeError):
            raise SequenceError(f"{egocam_path.name}: non-numeric camera arrays") from None
        n = R.shape[0] if R.ndim else 0
        shapes = {"R_k_cam_np": (R.shape, (n, 3, 3)), "T_k_cam_np": (T.shape, (n, 3, 1)),
                  "intrinsics": (K.shape, (3, 3)), "dist8": (dist.shape, (8,))}
        for key, (got, want) in shapes.items():
            if got != want:
                raise SequenceError(f"{egocam_path.name}: {key} has shape {got}, expected {want}")
        misc_path = guard.check(data / "meta" / "misc.json")
        if not misc_path.exists():
            raise SequenceError("missing file meta/misc.json")
        try:
            offset = int(json.loads(misc_path.read_text()).get(sid, {}).get("ioi_offset", 0))
        except (ValueError, UnicodeDecodeError) as e:
            raise SequenceError(parse_reason("meta/misc.json", e)) from None
        except (AttributeError, TypeError):
            raise SequenceError(f"meta/misc.json: entry of {sid} is not an object with ioi_offset") from None
        stems = [s for s in sorted(images) if 0 <= s - offset < len(R)]
        if not stems:
            raise SequenceError("empty sequence: no images with ground truth")
        vidx = np.array(stems) - offset
        times = check_times(vidx / float(settings.get("fps", 30.0)), "image stems")
        w2c = make_pose(R[vidx], T[vidx, :, 0])
        if not np.isfinite(w2c).all():
            raise SequenceError(f"{egocam_path.name}: non-finite (NaN/inf) pose")
        c2w = check_poses(invert_pose(w2c), egocam_path.name)
        import cv2
        first = cv2.imread(str(images[stems[0]]))
        if first is None:
            raise SequenceError(f"unreadable frame 0/{images[stems[0]].name}")
        lens = OpenCVRational(tuple(map(tuple, K)), tuple(dist), first.shape[1], first.shape[0])
        check_pinhole(lens.pinhole, f"{egocam_path.name} intrinsics")
        rect = rectifier_for(lens.pinhole, side, project=lens.project)
        return Sequence(self.name, sequence_id, times, image_source([images[s] for s in stems], rect), rect.target,
                        camera=PoseTrack(times, c2w),
                        source_files=[f"images/{sequence_id}/0/", f"raw_seqs/{sid}/{name}.egocam.dist.npy"],
                        meta={"ioi_offset": offset, "dist8": dist.tolist(), "source_camera": lens.pinhole.to_dict()})


READER = ARCTICReader()
