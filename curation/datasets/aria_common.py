"""Pieces shared by the Aria-family readers: HOT3D-Aria, HOT3D-Quest3 and Aria Digital Twin. Ego-Exo4D uses the gaze projection too.

Image streams come in two forms, and every reader accepts both:

- **VRS** (the real container): opened with projectaria-tools (``data_provider.create_vrs_data_provider``);
  images at ``capture_timestamp_ns`` (device time), calibration from the VRS ``calib_json`` tag, TIME_CODE
  <-> device time through the VRS timecode stream (285-2).
- **Extracted** (what the synthetic emitters write, since VRS cannot be written here): one folder per
  stream ``<stream_id>/<device_time_ns>.{jpg,png}`` holding the *raw* (unrotated, sensor-orientation)
  images, a calibration JSON in the HOT3D-Clips ``calibration`` schema (also HOT3D-Quest3's
  ``camera_models.json`` schema) and, where ground truth is in TIME_CODE, ``timecode.csv`` with columns
  ``device_time_ns,timecode_ns`` (the samples of VRS stream 285-2).

Calibration entry (either spelling of each key)::

    {"label": "camera-rgb", "image_width": W, "image_height": H,          (imageWidth / imageHeight)
     "projection_model_type": "CameraModelType.FISHEYE624",               (projectionModelType)
     "projection_params": [15 or 16 floats],                              (projectionParams)
     "T_device_from_camera": {"translation_xyz": [3], "quaternion_wxyz": [4]}}   (T_Device_Camera)

Rectified camera: a square pinhole (``hfov_deg``, default 90°) sharing the raw camera's optical centre and
axis; for Aria RGB it is the *upright* camera (raw image rotated 90° clockwise).
Rotations about the optical axis keep z-depth, so raw z-depth maps resample with nearest neighbour.
"""
from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np

from egom2p.aria import RAW_FROM_UPRIGHT, cad_T_device_cpf, gaze_point_cpf
from egom2p.cameras import Fisheye624, Pinhole, square_pinhole
from egom2p.geometry import invert_pose, make_pose, quat_to_matrix, transform_points, wxyz_to_xyzw

from ..aria_mps import GazeSamples
from ..guard import DatasetRoot, check_fisheye, parse_reason
from ..rectify import Rectifier, build_rectifier
from ..sequence import SequenceError, check_times
from ..tables import read_csv

DEFAULT_HFOV_DEG = 90.0
UPRIGHT = make_pose(RAW_FROM_UPRIGHT, np.zeros(3))   # T_raw_upright
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
FrameReader = Callable[[np.ndarray], Iterator[np.ndarray]]


# ------------------------------------------------------------------------------------------ calibration

@dataclass(frozen=True)
class StreamCalibration:
    """lens: FISHEYE624 at the stored image size; T_device_camera (4,4) device-from-camera (metres)."""
    label: str
    lens: Fisheye624
    T_device_camera: np.ndarray


def parse_camera_entry(entry: dict, source: str = "calibration") -> StreamCalibration:
    """One calibration dict (HOT3D-Clips / camera_models.json schema, module docstring); ``source`` (the
    file) starts every reason."""
    get = lambda *keys: next((entry[k] for k in keys if k in entry), None)  # noqa: E731
    what = f"{source} {entry.get('label')}"
    model = str(get("projection_model_type", "projectionModelType") or "")
    if not model.endswith("FISHEYE624"):
        raise SequenceError(f"{what}: unsupported projection model {model[:60]!r}")
    keys = {"projection_params": get("projection_params", "projectionParams"),
            "T_Device_Camera": get("T_device_from_camera", "T_Device_Camera"),
            "image_width": get("image_width", "imageWidth"), "image_height": get("image_height", "imageHeight")}
    missing = [k for k, v in keys.items() if v is None]
    if missing:
        raise SequenceError(f"{what}: missing key {', '.join(missing)}")
    T = keys["T_Device_Camera"]
    if not isinstance(T, dict) or not {"quaternion_wxyz", "translation_xyz"} <= T.keys():
        raise SequenceError(f"{what}: T_Device_Camera needs quaternion_wxyz and translation_xyz")
    try:
        lens = Fisheye624(tuple(float(p) for p in keys["projection_params"]), int(keys["image_width"]),
                          int(keys["image_height"]))
        q = np.asarray(T["quaternion_wxyz"], dtype=np.float64)
        t = np.asarray(T["translation_xyz"], dtype=np.float64)
    except (ValueError, TypeError, OverflowError) as e:
        raise SequenceError(f"{what}: malformed projection parameters, image size or pose ({type(e).__name__})") from None
    check_fisheye(lens, what)
    if q.shape != (4,) or not np.isfinite(q).all() or abs(np.linalg.norm(q) - 1) > 1e-3:
        raise SequenceError(f"{what}: T_Device_Camera quaternion is not a unit w,x,y,z")
    if t.shape != (3,) or not np.isfinite(t).all():
        raise SequenceError(f"{what}: T_Device_Camera translation is not 3 finite numbers")
    return StreamCalibration(entry.get("label", ""), lens, make_pose(quat_to_matrix(wxyz_to_xyzw(q)), t))


def read_camera_json(path: Path, label: str) -> StreamCalibration:
    """The entry of ``label`` in a calibration JSON (a list, or a dict with a ``calibrations`` list)."""
    if not path.exists():
        raise SequenceError(f"missing calibration {path.name}")
    try:
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise SequenceError(parse_reason(path.name, e)) from None
    entries = data.get("calibrations", []) if isinstance(data, dict) else data
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("label") == label:
            return parse_camera_entry(entry, path.name)
    raise SequenceError(f"{path.name}: no calibration for {label}")


def guard_sequence(root: os.PathLike, sequence_id: str) -> Path:
    """The sequence folder ``root/sequence_id`` after checking that it and every link below it stay in
    the dataset folder (an Aria-family reader opens only files in it), before any file is opened."""
    guard = DatasetRoot(root)
    return guard.tree(Path(root) / sequence_id)


# ------------------------------------------------------------------------------------------ image streams

@dataclass
class ImageStream:
    """A raw image stream: times_ns (N,) int64 device capture times; read(indices) yields raw images
    ((H,W,3) uint8 RGB, (H,W) uint8 grey or (H,W) uint16) for sorted indices (repeats allowed)."""
    times_ns: np.ndarray
    read: FrameReader
    files: list[str] = field(default_factory=list)
    frame_names: list[str] | None = None   # per-frame file (extracted form), for reasons

    def frame_name(self, i: int) -> str:
        """Frame ``i`` named for a reason: its file, else index and container."""
        if self.frame_names is not None:
            return self.frame_names[i]
        return f"frame {i} of {', '.join(self.files)}"


@contextmanager
def _native_output():
    """Collect what native code writes to file descriptors 1 and 2 inside the block (projectaria-tools logs
    INFO lines, device warnings and truncation warnings there) into ``log[0]``, not the console."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    log: list[str] = []
    with tempfile.TemporaryFile() as tmp:
        for fd in saved:
            os.dup2(tmp.fileno(), fd)
        try:
            yield log
        finally:
            for fd, orig in saved.items():
                os.dup2(orig, fd)
                os.close(orig)
            tmp.seek(0)
            log.append(tmp.read().decode(errors="replace"))


class VrsRecording:
    """A VRS file opened with projectaria-tools (imported lazily: only VRS inputs need it). A file whose
    index lists records past its end (a truncated copy) raises SequenceError; projectaria-tools itself
    would only log a warning and serve the frames that remain."""

    def __init__(self, path: Path):
        if not path.exists():
            raise SequenceError(f"missing file {path.name}")
        try:
            from projectaria_tools.core import data_provider
        except ImportError:  # pragma: no cover - installed by `make setup`
            raise SequenceError("projectaria-tools is not installed: cannot read VRS "
                                "(pip install --no-deps projectaria-tools==2.3.0)") from None
        self.path = path
        with _native_output() as log:
            self.provider = data_provider.create_vrs_data_provider(str(path))
        self.log = log[0] if log else ""
        if self.provider is None:
            raise SequenceError(f"unreadable VRS {path.name} (not a VRS file or truncated header)")
        dropped = re.search(r"(\d+) records are beyond the end of the file", self.log)
        if dropped:  # the index lists records the file no longer holds: projectaria-tools drops them silently
            raise SequenceError(f"truncated VRS {path.name}: {dropped.group(1)} records beyond the end of the file")

    def stream(self, stream_id: str) -> ImageStream:
        from projectaria_tools.core.stream_id import StreamId
        sid = StreamId(stream_id)
        if sid not in self.provider.get_all_streams():
            raise SequenceError(f"{self.path.name}: no stream {stream_id}")
        n = self.provider.get_num_data(sid)
        if n == 0:
            raise SequenceError(f"empty sequence: {self.path.name} stream {stream_id} has no records")
        from projectaria_tools.core.sensor_data import TimeDomain
        times = np.asarray(self.provider.get_timestamps_ns(sid, TimeDomain.DEVICE_TIME), dtype=np.int64)

        def read(indices: np.ndarray) -> Iterator[np.ndarray]:
            last, arr = None, None
            for i in indices:
                if i != last:
                    img, _ = self.provider.get_image_data_by_index(sid, int(i))
                    arr = img.to_numpy_array()
                    if arr is None or arr.size == 0:
                        raise SequenceError(f"unreadable frame {i} of {self.path.name} stream {stream_id}")
                    last = i
                yield arr
        return ImageStream(times, read, [self.path.name])

    def calibration(self, label: str) -> StreamCalibration:
        """Factory calibration of ``label`` from the VRS ``calib_json`` (at the stream's image size)."""
        calib = self.provider.get_device_calibration()
        cam = calib.get_camera_calib(label) if calib is not None else None
        if cam is None:
            raise SequenceError(f"{self.path.name}: no calibration for {label}")
        w, h = (int(v) for v in cam.get_image_size())
        lens = check_fisheye(Fisheye624(tuple(float(p) for p in cam.get_projection_params()), w, h),
                             f"{self.path.name} calibration {label}")
        return StreamCalibration(label, lens,
                                 np.asarray(cam.get_transform_device_camera().to_matrix(), dtype=np.float64))

    def device_subtype(self, default: str = "DVT-L") -> str:
        """``DeviceClassInfo.BuildVersion`` of the calibration (selects the CAD table), else ``default``."""
        calib = self.provider.get_device_calibration()
        sub = calib.get_device_subtype() if calib is not None else ""
        return sub if sub in ("DVT-L", "DVT-S") else default

    def timecode_to_device_ns(self, timecode_ns: np.ndarray) -> np.ndarray:
        """TIME_CODE ns -> device ns through the VRS timecode stream."""
        try:
            return np.array([self.provider.convert_from_timecode_to_device_time_ns(int(t)) for t in timecode_ns],
                            dtype=np.int64)
        except Exception as e:  # noqa: BLE001 - projectaria-tools raises RuntimeError without a timecode stream
            raise SequenceError(f"{self.path.name}: cannot convert TIME_CODE to device time ({e})") from None


def extracted_stream(folder: Path, what: str) -> ImageStream:
    """``<folder>/<device_time_ns>.{jpg,png}`` -> stream (JPEG/PNG decoded as stored; 16-bit PNG kept)."""
    files = sorted((int(p.stem), p) for p in folder.iterdir()
                   if p.suffix.lower() in IMAGE_SUFFIXES and p.stem.isdigit()) if folder.is_dir() else []
    if not files:
        raise SequenceError(f"empty sequence: no {what} frames in {folder.name}/")
    times = np.array([t for t, _ in files], dtype=np.int64)
    paths = [p for _, p in files]

    def read(indices: np.ndarray) -> Iterator[np.ndarray]:
        last, out = None, None
        for j in indices:
            if j != last:
                out = cv2.imread(str(paths[j]), cv2.IMREAD_UNCHANGED)
                if out is None:
                    raise SequenceError(f"unreadable frame {folder.name}/{paths[j].name}")
                if out.ndim == 3:
                    out = cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
                last = j
            yield out
    return ImageStream(times, read, [f"{folder.name}/"], [f"{folder.name}/{p.name}" for p in paths])


def timecode_csv_to_device(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    """``timecode.csv`` (device_time_ns, timecode_ns) -> TIME_CODE ns -> device ns (the device-minus-
    timecode offset interpolated linearly, held constant outside the samples)."""
    c = read_csv(path, ["device_time_ns", "timecode_ns"])
    tc = check_times(c["timecode_ns"], path.name)
    offset = c["device_time_ns"] - tc

    def convert(timecode_ns: np.ndarray) -> np.ndarray:
        t = np.asarray(timecode_ns, dtype=np.float64)
        return np.round(t + np.interp(t, tc, offset)).astype(np.int64)
    return convert


@dataclass
class RawCamera:
    """One camera of a recording: its raw stream, calibration (lens at the stored image size), CAD build
    (DVT-L / DVT-S, for ``T_device_cpf``) and the VRS it came from (None for the extracted form)."""
    stream: ImageStream
    calib: StreamCalibration
    build: str
    vrs: VrsRecording | None


def open_camera(seq_dir: Path, vrs_name: str, stream_id: str, label: str,
                calib_json: Path | None = None, extracted: str = "frames") -> RawCamera:
    """``<seq_dir>/<vrs_name>`` when present, else the extracted ``<seq_dir>/<extracted>/<stream_id>/``
    with ``<extracted>/calibration.json``. ``calib_json`` overrides the calibration source (HOT3D-Quest3's
    ``camera_models.json``). The lens is rescaled when the stored images are a resized copy."""
    vrs = None
    if (seq_dir / vrs_name).exists():
        vrs = VrsRecording(seq_dir / vrs_name)
        stream = vrs.stream(stream_id)
        calib = read_camera_json(calib_json, label) if calib_json else vrs.calibration(label)
        build = vrs.device_subtype()
    else:
        folder = seq_dir / extracted / stream_id
        if not folder.is_dir():
            raise SequenceError(f"missing {vrs_name} (or its extracted form {extracted}/{stream_id}/)")
        stream = extracted_stream(folder, stream_id)
        calib = read_camera_json(calib_json or seq_dir / extracted / "calibration.json", label)
        build = "DVT-L"
    h, w = next(stream.read(np.array([0]))).shape[:2]
    lens = calib.lens
    if (lens.width, lens.height) != (w, h):
        if abs(w * lens.height - h * lens.width) > max(w, h):
            raise SequenceError(f"{label}: images are {w}x{h} but the calibration is {lens.width}x{lens.height}")
        calib = StreamCalibration(calib.label, lens.scaled(w / lens.width), calib.T_device_camera)
    return RawCamera(stream, calib, build, vrs)


# ------------------------------------------------------------------------------------------ geometry

def rectified_target(side: int, settings: dict | None) -> Pinhole:
    """The canonical square pinhole (``hfov_deg`` from the raw folder's dataset.json, default 90°)."""
    return square_pinhole(side, float((settings or {}).get("hfov_deg", DEFAULT_HFOV_DEG)))


def raw_rectifier(target: Pinhole, lens: Fisheye624, upright: bool) -> Rectifier:
    """Maps from raw sensor images of ``lens`` to ``target`` (rotated to upright for Aria RGB)."""
    return build_rectifier(target, lens.project, RAW_FROM_UPRIGHT if upright else None, src_focal=lens.params[0])


def rgb_frames(stream: ImageStream, rect: Rectifier) -> FrameReader:
    """Rectified (S,S,3) uint8 frames; grey images (mono SLAM cameras) are repeated to 3 channels."""
    def read(indices: np.ndarray) -> Iterator[np.ndarray]:
        last, out = None, None
        for i, img in zip(indices, stream.read(indices)):
            if i != last:   # repeated indices (padding, slower sources) reuse the rectified frame
                if img.ndim == 2:
                    img = np.repeat(img[..., None], 3, axis=-1)
                if img.dtype != np.uint8 or img.shape[-1] != 3:
                    raise SequenceError(f"frame of dtype {img.dtype} shape {img.shape}: expected 8-bit RGB or grey")
                out, last = rect(img), i
            yield out
    return read


def project_gaze(g: GazeSamples, T_device_rect: np.ndarray, target: Pinhole, build: str = "DVT-L") -> np.ndarray:
    """(K,2) rectified pixels of MPS gaze: CPF yaw/pitch/depth (1 m when unknown) -> device with the CAD
    ``T_device_cpf`` (CPF exists only in CAD space) -> rectified camera (``T_device_rect``, device-from-
    rectified-camera) -> pinhole. NaN where the point is behind the camera."""
    p_device = transform_points(cad_T_device_cpf(build), gaze_point_cpf(g.yaw, g.pitch, g.depth))
    p_cam = transform_points(invert_pose(T_device_rect), p_device)
    uv = target.project(p_cam)
    uv[~(p_cam[:, 2] > 0)] = np.nan
    return uv


def hold_edges(times: np.ndarray, values: np.ndarray, first: float, last: float, tol: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Extend a track to ``[first, last]`` by repeating its edge samples when they lie within ``tol``
    seconds of the range (nearest-sample semantics of projectaria-tools' CLOSEST queries; ADT's first RGB
    frame is ~97 µs before its first ground-truth sample). Farther gaps are left alone."""
    t, v = np.asarray(times, np.float64), np.asarray(values)
    if len(t) and first < t[0] and t[0] - first <= tol:
        t, v = np.concatenate([[first], t]), np.concatenate([v[:1], v])
    if len(t) and last > t[-1] and last - t[-1] <= tol:
        t, v = np.concatenate([t, [last]]), np.concatenate([v, v[-1:]])
    return t, v


def nearest_within(src_ns: np.ndarray, query_ns: np.ndarray, tol_ns: int) -> np.ndarray:
    """Index of the nearest ``src_ns`` sample for each query (ties to the lower index), -1 beyond ``tol_ns``."""
    src = np.asarray(src_ns, np.int64)
    q = np.asarray(query_ns, np.int64)
    hi = np.clip(np.searchsorted(src, q), 0, len(src) - 1)
    lo = np.clip(hi - 1, 0, len(src) - 1)
    idx = np.where(np.abs(q - src[lo]) <= np.abs(src[hi] - q), lo, hi)
    return np.where(np.abs(src[idx] - q) <= tol_ns, idx, -1)


def sequence_dirs(root: os.PathLike, marker: str) -> list[str]:
    """Sub-folders of ``root`` holding ``marker`` (a file name), sorted."""
    root = Path(root)
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / marker).exists())
