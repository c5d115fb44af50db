"""Bad source files, one kind per case: the synthetic emitters' output with one sequence made bad (the
other stays good) goes through the clips stage; the bad sequence is quarantined with a one-line reason
naming the file and the problem (never the file's text, never a file outside the dataset folder), the
good one completes and only it is in the index."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
import pytest

from egom2p.catalog import read_index, read_quarantine
from egom2p.curation.clips import curate_clips
from egom2p.paths import DataPaths

from .test_bad_input import CFG, _sequences

SECRET = "root:x:0:0:SECRET-CONTENT"


def curate(raw: Path) -> tuple[list[dict], list[dict]]:
    """The clips stage only (in-process): (index rows, quarantine rows)."""
    out = DataPaths(raw.parent.parent).interim_clips(raw.name)
    curate_clips(raw, out, raw.name, CFG, progress=False, workers=1)
    return read_index(out), read_quarantine(out)


@pytest.fixture
def aria_copy(tmp_path, aria_layouts):
    """Copy an Aria-family layout to tmp_path/data/raw/<name>; a one-sequence layout gets a second,
    identical sequence (``<name>_copy``) so one can go bad beside a good one."""
    def make(name: str) -> Path:
        dst = tmp_path / "data" / "raw" / name
        shutil.copytree(aria_layouts[name], dst)
        seqs = sorted(p for p in dst.iterdir() if p.is_dir())
        if len(seqs) == 1:
            shutil.copytree(seqs[0], dst / f"{seqs[0].name}_copy")
        return dst
    return make


def outside_dir(path: Path) -> Path:
    """tmp_path/outside: a folder beside data/, outside every dataset folder."""
    root = next(q for q in path.parents if q.name == "data").parent / "outside"
    root.mkdir(exist_ok=True)
    return root


def link_out(path: Path, text: str = SECRET) -> None:
    """Replace ``path`` by a symlink to a file outside the dataset holding ``text``."""
    target = outside_dir(path) / path.name
    if path.suffix in (".jpg", ".png"):
        shutil.copy(path, target)   # a valid image: the clip would silently use it
    else:
        target.write_text(text)
    path.unlink()
    path.symlink_to(target)


def first(folder: Path, suffix: str) -> Path:
    return sorted(folder.glob(f"*{suffix}"), key=lambda p: int(p.stem))[0]


def npy_header_only(path: Path, shape: tuple[int, ...], descr: str = "<f8") -> None:
    """An .npy whose header claims ``shape`` but holds a few bytes."""
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": descr, "fortran_order": False, "shape": shape})
        f.write(b"\0" * 64)


def edit_json(path: Path, fn: Callable) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


# ------------------------------------------------------------------------------------------ egogen

def _npys(folder: Path, fn: Callable[[np.ndarray], np.ndarray]) -> None:
    """Rewrite every .npy in ``folder`` as ``fn(array)``."""
    for p in folder.iterdir():
        np.save(p, fn(np.load(p)))


def _set(v: np.ndarray, i: int, value: float) -> np.ndarray:
    v[i] = value
    return v


def egogen_nan_principal_point(raw, seq):
    _npys(raw / seq / "smplx_params", lambda v: _set(v, 96, np.nan))


def egogen_principal_point_outside(raw, seq):
    _npys(raw / seq / "smplx_params", lambda v: _set(v, 96, 5000.0))


def egogen_depth_shape_changes(raw, seq):
    p = raw / seq / "depth_clean" / "10.npy"
    np.save(p, np.load(p)[::2, ::2].copy())


def egogen_depth_integer_mm(raw, seq):
    _npys(raw / seq / "depth_clean", lambda d: np.round(d * 1000).astype(np.int32))


def egogen_depth_float_millimetres(raw, seq):
    _npys(raw / seq / "depth_clean", lambda d: d * 1000)


def egogen_depth_three_channels(raw, seq):
    _npys(raw / seq / "depth_clean", lambda d: np.repeat(d[..., None], 3, axis=-1))


def egogen_npy_huge_header(raw, seq):
    npy_header_only(raw / seq / "smplx_params" / "2.npy", (10**12,))


def egogen_pickled_npy(raw, seq):
    np.save(raw / seq / "smplx_params" / "3.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)


def egogen_frame_symlink_outside(raw, seq):
    link_out(raw / seq / "rgb" / "5.jpg")


# ------------------------------------------------------------------------------------------ h2o

def _cam4(raw, seq) -> Path:
    return raw / seq / "cam4"


def h2o_nan_intrinsics(raw, seq):
    (_cam4(raw, seq) / "cam_intrinsics.txt").write_text("nan nan nan nan 256 144\n")


def h2o_intrinsics_text_not_echoed(raw, seq):
    (_cam4(raw, seq) / "cam_intrinsics.txt").write_text(f"{SECRET} 1 2 3 4 5\n")


def h2o_calibration_symlink_system_file(raw, seq):
    link_out(_cam4(raw, seq) / "cam_intrinsics.txt")


def _pngs(folder: Path, fn: Callable[[np.ndarray], np.ndarray], only_first: bool = False) -> None:
    """Rewrite the depth PNGs in ``folder`` (or only the first) as ``fn(depth)``."""
    for p in [first(folder, ".png")] if only_first else folder.iterdir():
        cv2.imwrite(str(p), fn(cv2.imread(str(p), cv2.IMREAD_UNCHANGED)))


def _half(d: np.ndarray) -> np.ndarray:
    return cv2.resize(d, (d.shape[1] // 2, d.shape[0] // 2), interpolation=cv2.INTER_NEAREST)


def h2o_depth_wrong_size(raw, seq):
    _pngs(_cam4(raw, seq) / "depth", _half, only_first=True)


def h2o_depth_8bit(raw, seq):
    _pngs(_cam4(raw, seq) / "depth", lambda d: np.clip(d // 10, 0, 255).astype(np.uint8))


def h2o_depth_in_metres(raw, seq):
    _pngs(_cam4(raw, seq) / "depth", lambda d: (d // 1000).astype(np.uint16))


def h2o_depth_three_channels(raw, seq):
    _pngs(_cam4(raw, seq) / "depth", lambda d: np.repeat(d[..., None], 3, axis=-1))


# ------------------------------------------------------------------------------------------ holoassist

def _video_dir(raw, seq) -> Path:
    return raw / seq / "Export_py" / "Video"


def holoassist_zero_intrinsics(raw, seq):
    p = _video_dir(raw, seq) / "Intrinsics.txt"
    v = p.read_text().split()
    v[0] = v[4] = "0"
    p.write_text("\t".join(v) + "\n")


def holoassist_pose_text_not_echoed(raw, seq):
    p = _video_dir(raw, seq) / "Pose_sync.txt"
    lines = p.read_text().splitlines()
    f = lines[3].split()
    f[5] = SECRET.replace(" ", "")
    lines[3] = "\t".join(f)
    p.write_text("\n".join(lines) + "\n")


def holoassist_garbage_video(raw, seq):
    (raw / seq / "Export_py" / "Video_pitchshift.mp4").write_bytes(b"\0\0\0\x18ftypmp42" + b"garbage" * 100)


# ------------------------------------------------------------------------------------------ taco

def _taco_params(raw, seq) -> Path:
    return raw / "Egocentric_Camera_Parameters" / seq


def taco_principal_point_outside(raw, seq):
    p = _taco_params(raw, seq) / "egocentric_intrinsic.txt"
    K = np.loadtxt(p)
    K[0, 2] = -50.0
    np.savetxt(p, K)


def taco_npy_huge_header(raw, seq):
    npy_header_only(_taco_params(raw, seq) / "egocentric_frame_extrinsic.npy", (10**9, 4, 4))


def taco_extrinsic_wrong_shape(raw, seq):
    p = _taco_params(raw, seq) / "egocentric_frame_extrinsic.npy"
    np.save(p, np.load(p)[:, :3, :])


# ------------------------------------------------------------------------------------------ arctic

def _egocam(raw, seq) -> Path:
    sid, name = seq.split("/")
    return raw / "arctic_data" / "data" / "raw_seqs" / sid / f"{name}.egocam.dist.npy"


def _edit_egocam(raw, seq, fn):
    from egom2p.curation.safe_pickle import load_pickled_npy
    p = _egocam(raw, seq)
    d = load_pickled_npy(p)
    fn(d)
    np.save(p, np.array(d, dtype=object), allow_pickle=True)


def arctic_zero_focal(raw, seq):
    _edit_egocam(raw, seq, lambda d: d["intrinsics"].__setitem__((0, 0), 0.0))


def arctic_wrong_rotation_shape(raw, seq):
    _edit_egocam(raw, seq, lambda d: d.__setitem__("R_k_cam_np", d["R_k_cam_np"][:, :2]))


def arctic_egocam_not_a_dict(raw, seq):
    np.save(_egocam(raw, seq), np.zeros((4, 3, 3)))


def arctic_egocam_missing_key(raw, seq):
    _edit_egocam(raw, seq, lambda d: d.pop("dist8"))


def arctic_image_folder_symlink_outside(raw, seq):
    sid, name = seq.split("/")
    folder = raw / "arctic_data" / "data" / "images" / sid / name / "0"
    dst = outside_dir(raw) / "arctic_0"
    shutil.copytree(folder, dst)
    shutil.rmtree(folder)
    folder.symlink_to(dst, target_is_directory=True)


# ------------------------------------------------------------------------------------------ egoexo4d

def _edit_take(raw, seq, fn: Callable[[dict], None]) -> None:
    """Apply ``fn`` to the takes.json entry of ``seq``."""
    edit_json(raw / "takes.json", lambda takes: [fn(t) for t in takes if t["take_name"] == seq])


def _move_take_outside(raw, seq, absolute: bool):
    dst = outside_dir(raw) / seq
    shutil.copytree(raw / "takes" / seq, dst)   # a valid take: reading it would curate silently
    _edit_take(raw, seq, lambda t: t.update(root_dir=str(dst) if absolute else os.path.relpath(dst, raw)))


def egoexo4d_root_dir_traversal(raw, seq):
    _move_take_outside(raw, seq, absolute=False)


def egoexo4d_root_dir_absolute(raw, seq):
    _move_take_outside(raw, seq, absolute=True)


def egoexo4d_video_path_traversal(raw, seq):
    rgb = lambda t: t["frame_aligned_videos"]["aria01"]["rgb"]  # noqa: E731
    _edit_take(raw, seq, lambda t: rgb(t).update(relative_path="../../../../../outside/" + rgb(t)["relative_path"]))


def egoexo4d_calibration_missing_key(raw, seq):
    p = raw / "takes" / seq / "trajectory" / "online_calibration.jsonl"
    recs = [json.loads(line) for line in p.read_text().splitlines()]
    for e in (e for r in recs for e in r.get("CameraCalibrations", [])):
        e.pop("T_Device_Camera", None)
    p.write_text("".join(json.dumps(r) + "\n" for r in recs))


def egoexo4d_timesync_index_not_integer(raw, seq):
    _edit_take(raw, seq, lambda t: t.update(timesync_start_idx="first"))


# ------------------------------------------------------------------------------------------ aria family

def hot3d_aria_calibration_missing_key(raw, seq):
    edit_json(raw / seq / "frames" / "calibration.json",
              lambda entries: [e.pop("T_Device_Camera", None) or e.pop("T_device_from_camera", None)
                               for e in entries])


def hot3d_aria_nan_focal(raw, seq):
    def f(entries):
        for e in entries:
            key = "projection_params" if "projection_params" in e else "projectionParams"
            e[key][0] = float("nan")
    edit_json(raw / seq / "frames" / "calibration.json", f)


def hot3d_quest3_calibration_symlink_outside(raw, seq):
    link_out(raw / seq / "camera_models.json")


def hot3d_quest3_frame_symlink_outside(raw, seq):
    link_out(first(raw / seq / "frames" / "1201-1", ".png"))


def adt_depth_three_channels(raw, seq):
    _pngs(raw / seq / "depth" / "345-1", lambda d: np.repeat(d[..., None], 3, axis=-1))


def adt_depth_8bit(raw, seq):
    _pngs(raw / seq / "depth" / "345-1", lambda d: np.clip(d // 10, 0, 255).astype(np.uint8))


def adt_depth_wrong_size(raw, seq):
    _pngs(raw / seq / "depth" / "345-1", _half)


ARIA = {"hot3d_aria", "hot3d_quest3", "adt"}
CASES = [
    ("egogen", egogen_nan_principal_point, "smplx_params/1.npy: non-finite intrinsics (cx)"),
    ("egogen", egogen_principal_point_outside, "smplx_params/1.npy: principal point (5000"),
    ("egogen", egogen_depth_shape_changes, "depth_clean/10.npy: depth is 80x72, expected 160x144"),
    ("egogen", egogen_depth_integer_mm, "depth dtype int32, expected float metres"),
    ("egogen", egogen_depth_float_millimetres, "implausible depth (median"),
    ("egogen", egogen_depth_three_channels, "(3 channels), expected one channel"),
    ("egogen", egogen_npy_huge_header, "smplx_params/2.npy: header claims shape (1000000000000,)"),
    ("egogen", egogen_pickled_npy, "smplx_params/3.npy: dtype object not allowed"),
    ("egogen", egogen_frame_symlink_outside, "rgb/5.jpg: symlink leaves the dataset folder"),
    ("h2o", h2o_nan_intrinsics, "cam4/cam_intrinsics.txt: non-finite intrinsics (fx, fy, cx, cy)"),
    ("h2o", h2o_intrinsics_text_not_echoed, "cam4/cam_intrinsics.txt: line 1 is not numeric"),
    ("h2o", h2o_calibration_symlink_system_file, "cam_intrinsics.txt: symlink leaves the dataset folder"),
    ("h2o", h2o_depth_wrong_size, "depth is 128x72, expected 256x144"),
    ("h2o", h2o_depth_8bit, "8-bit depth PNG, expected 16-bit millimetres"),
    ("h2o", h2o_depth_in_metres, "implausible depth (median"),
    ("h2o", h2o_depth_three_channels, "(3 channels), expected one channel"),
    ("holoassist", holoassist_zero_intrinsics, "Video/Intrinsics.txt: focal length must be positive"),
    ("holoassist", holoassist_pose_text_not_echoed, "Video/Pose_sync.txt: row 3 is not numeric"),
    ("holoassist", holoassist_garbage_video, "Video_pitchshift.mp4: video unreadable (Invalid data found when processing input)"),
    ("taco", taco_principal_point_outside, "egocentric_intrinsic.txt: principal point (-50"),
    ("taco", taco_npy_huge_header, "egocentric_frame_extrinsic.npy: header claims shape"),
    ("taco", taco_extrinsic_wrong_shape, "egocentric_frame_extrinsic.npy: shape ("),
    ("arctic", arctic_zero_focal, "intrinsics: focal length must be positive"),
    ("arctic", arctic_wrong_rotation_shape, "R_k_cam_np has shape"),
    ("arctic", arctic_egocam_not_a_dict, "egocam.dist.npy: expected a pickled dict of camera arrays, got ndarray"),
    ("arctic", arctic_egocam_missing_key, "egocam.dist.npy: missing key dist8"),
    ("arctic", arctic_image_folder_symlink_outside, "symlink leaves the dataset folder"),
    ("egoexo4d", egoexo4d_root_dir_traversal, "takes.json root_dir of take"),
    ("egoexo4d", egoexo4d_root_dir_absolute, "takes.json root_dir of take"),
    ("egoexo4d", egoexo4d_video_path_traversal, "takes.json relative_path of take"),
    ("egoexo4d", egoexo4d_calibration_missing_key, "online_calibration.jsonl: camera-rgb entry missing key "
                                                   "T_Device_Camera"),
    ("egoexo4d", egoexo4d_timesync_index_not_integer, "timesync indices are not integers"),
    ("hot3d_aria", hot3d_aria_calibration_missing_key, "calibration.json camera-rgb: missing key T_Device_Camera"),
    ("hot3d_aria", hot3d_aria_nan_focal, "calibration.json camera-rgb: non-finite projection parameters"),
    ("hot3d_quest3", hot3d_quest3_calibration_symlink_outside, "camera_models.json: symlink leaves the dataset"),
    ("hot3d_quest3", hot3d_quest3_frame_symlink_outside, ".png: symlink leaves the dataset folder"),
    ("adt", adt_depth_three_channels, "(3 channels), expected one channel"),
    ("adt", adt_depth_8bit, "8-bit depth, dtype uint8, expected uint16 millimetres"),
    ("adt", adt_depth_wrong_size, ".png: depth shape (64, 64) != RGB image (128, 128)"),
]


@pytest.mark.parametrize("layout,corrupt,reason", CASES, ids=[c[1].__name__ for c in CASES])
def test_bad_source_is_quarantined_with_reason(request, layout, corrupt, reason):
    # fixtures fetched lazily: a run of only pinhole cases never renders the Aria-family layouts
    raw = request.getfixturevalue("aria_copy" if layout in ARIA else "raw_copy")(layout)
    bad, good = _sequences(raw)[:2]
    corrupt(raw, bad)
    index, quarantine = curate(raw)
    assert [q["sequence_id"] for q in quarantine] == [bad], quarantine
    error = quarantine[0]["error"]
    assert reason in error, error
    assert "\n" not in error and SECRET not in error and "SECRET" not in error, error
    assert {r["sequence_id"] for r in index} == {good}


def test_links_inside_the_dataset_are_followed(tmp_path, micro_layouts):
    """data/raw/<ds> linked to a folder elsewhere is the user's choice, and a link from one file of the
    dataset to another stays inside it: both curate."""
    (tmp_path / "data" / "raw").mkdir(parents=True)
    real = tmp_path / "elsewhere" / "egogen"
    shutil.copytree(micro_layouts["egogen"], real)
    raw = tmp_path / "data" / "raw" / "egogen"
    raw.symlink_to(real, target_is_directory=True)
    seq = _sequences(raw)[0]
    (raw / seq / "rgb" / "5.jpg").unlink()
    (raw / seq / "rgb" / "5.jpg").symlink_to(raw / seq / "rgb" / "6.jpg")
    index, quarantine = curate(raw)
    assert quarantine == [] and {r["sequence_id"] for r in index} == set(_sequences(raw))
