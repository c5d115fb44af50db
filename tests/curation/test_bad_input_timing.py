"""Bad input, timing and geometry: frame timing comes from the container's real timestamps (a stream that
is not the constant rate the reader assumes is quarantined, naming the file and the gap), a frame size
change mid-stream is quarantined, depth pre-shrinking samples pixel centres, the inventory expects the
clips curation makes, and HOT3D's QA masks keep masked frames' poses out."""
from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from egom2p.cameras import Pinhole
from egom2p.catalog import read_quarantine
from egom2p.curation.clips import curate_clips
from egom2p.curation.config import CurationConfig
from egom2p.curation.datasets import READERS
from egom2p.curation.datasets.hot3d_common import read_hot3d_mask
from egom2p.curation.inventory import build_inventory
from egom2p.curation.rectify import Rectifier
from egom2p.synth.layouts.hot3d import bad_exposure_frame, masked_pose_frame
from egom2p.video import iter_frames, packet_times, probe

from .test_bad_input import _sequences

CFG = CurationConfig(preset="tiny", clip_resolution=64)
RGB, DEPTH, PARAMS = "Egocentric_RGB_Videos", "Egocentric_Depth_Videos", "Egocentric_Camera_Parameters"


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def _color(raw: Path, seq: str) -> Path:
    return raw / RGB / seq / "color.mp4"


def _n_poses(raw: Path, seq: str) -> int:
    return len(np.load(raw / PARAMS / seq / "egocentric_frame_extrinsic.npy"))


def _reencode(path: Path, *args: str) -> None:
    """Re-encode ``path`` in place (H.264) with extra ffmpeg output args (filters, timing, muxer)."""
    tmp = path.parent.parent.parent / ("_tmp" + path.suffix)   # outside the sequence folders
    _ffmpeg("-i", str(path), *args, "-c:v", "libx264", "-pix_fmt", "yuv420p", str(tmp))
    tmp.replace(path)


def retime(name: str, expr: str, fps_mode: str = "passthrough"):
    """Corruption: rewrite color.mp4's presentation times with a setpts expression (pixels unchanged)."""
    def corrupt(raw, seq):
        _reencode(_color(raw, seq), "-vf", f"setpts='{expr}'", "-fps_mode", fps_mode)
    corrupt.__name__ = name
    return corrupt


vfr_jump = retime("vfr_jump", "PTS+gte(N,30)*0.5/TB", "vfr")              # 0.5 s jump, -vsync vfr
dropped_frame = retime("dropped_frame", "PTS+gte(N,20)/(30*TB)")           # one 2-frame interval
duplicated_timestamp = retime("duplicated_timestamp", "PTS-eq(N,21)/(30*TB)")   # frames 20, 21 same time
start_offset = retime("start_offset", "PTS+1.0/TB")                        # constant rate from 1 s: fine
small_jitter = retime("small_jitter", "PTS+mod(N,2)*0.004/TB")             # ±12 % of an interval: fine


def resolution_change(raw, seq):
    """color.mp4 whose second half is half the size (H.264 in-band SPS, concatenated without re-encoding)."""
    v = _color(raw, seq)
    w, h = probe(v).width, probe(v).height
    tmp = raw.parent
    _ffmpeg("-i", str(v), "-vf", "select='lt(n,35)'", "-fps_mode", "passthrough", "-c:v", "libx264",
            "-pix_fmt", "yuv420p", "-f", "mpegts", str(tmp / "a.ts"))
    _ffmpeg("-i", str(v), "-vf", f"select='gte(n,35)',setpts=PTS-STARTPTS,scale={w // 2}:{h // 2}",
            "-fps_mode", "passthrough", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mpegts", str(tmp / "b.ts"))
    (tmp / "list.txt").write_text(f"file '{tmp / 'a.ts'}'\nfile '{tmp / 'b.ts'}'\n")
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(tmp / "list.txt"), "-c", "copy", str(tmp / "res.mp4"))
    (tmp / "res.mp4").replace(v)


def fewer_frames_no_count(raw, seq):
    """60 packets in a container without a frame count (MPEG-TS named color.mp4): the header check passes."""
    v = _color(raw, seq)
    tmp = raw.parent / "short.ts"
    _ffmpeg("-i", str(v), "-frames:v", "60", "-c", "copy", "-f", "mpegts", str(tmp))
    tmp.replace(v)


def truncated_color(raw, seq):
    v = _color(raw, seq)
    v.write_bytes(v.read_bytes()[: v.stat().st_size // 2])


def truncated_depth(raw, seq):
    d = raw / DEPTH / seq / "egocentric_depth.avi"
    d.write_bytes(d.read_bytes()[: d.stat().st_size // 2])


BAD = [
    (vfr_jump, "color.mp4: not a constant frame rate: gap of 0.5333 s between frames 29 and 30"),
    (dropped_frame, "color.mp4: not a constant frame rate: gap of 0.0667 s between frames 19 and 20"),
    (duplicated_timestamp, "color.mp4: duplicated frame timestamp 0.666667 s (frames 20 and 21"),
    (resolution_change, "resolution changes mid-stream: color.mp4 256x144 -> 128x72"),
    (fewer_frames_no_count, "video truncated: color.mp4 has 60 frames (packets), 69 expected"),
    (truncated_color, "color.mp4"),
    (truncated_depth, "video truncated: egocentric_depth.avi has"),
]
GOOD = [start_offset, small_jitter]


def _curate(raw: Path, cfg: CurationConfig = CFG):
    out = raw.parent.parent / "clips"
    res = curate_clips(raw, out, raw.name, cfg, progress=False, workers=1)
    return res.rows, read_quarantine(out)


@pytest.mark.parametrize("corrupt,reason", BAD, ids=[c[0].__name__ for c in BAD])
def test_bad_timing_is_quarantined_and_rest_completes(raw_copy, corrupt, reason):
    raw = raw_copy("taco")
    bad, good = _sequences(raw)[:2]
    info = probe(_color(raw, bad))
    assert _n_poses(raw, bad) == 69 and (info.width, info.height) == (256, 144)   # the reasons' numbers
    corrupt(raw, bad)
    rows, quarantine = _curate(raw)
    assert [q["sequence_id"] for q in quarantine] == [bad]
    assert reason in quarantine[0]["error"], quarantine[0]["error"]
    assert {r["sequence_id"] for r in rows} == {good}


@pytest.mark.parametrize("corrupt", GOOD, ids=[c.__name__ for c in GOOD])
def test_constant_rate_variants_curate(raw_copy, corrupt):
    raw = raw_copy("taco")
    seqs = _sequences(raw)[:2]
    corrupt(raw, seqs[0])
    rows, quarantine = _curate(raw)
    assert quarantine == [] and {r["sequence_id"] for r in rows} == set(seqs)


def test_vfr_decode_yields_stored_frames_not_duplicates(raw_copy):
    """Before: ffmpeg's constant-rate output duplicated frames across the jump (84 decoded for 69 stored),
    so RGB frame k drifted against pose/depth k. Now decoded frame k is stored frame k."""
    raw = raw_copy("taco")
    seq = _sequences(raw)[0]
    original = list(iter_frames(_color(raw, seq)))
    vfr_jump(raw, seq)
    times = packet_times(_color(raw, seq))
    decoded = list(iter_frames(_color(raw, seq)))
    assert len(decoded) == len(times) == len(original) == 69
    assert times[30] - times[29] == pytest.approx(0.5 + 1 / 30, abs=1e-3)
    for k in (10, 29, 30, 60):   # same content (up to re-encoding), not a neighbour's
        err = [np.abs(decoded[k].astype(float) - original[j]).mean() for j in (k - 1, k, k + 1)]
        assert int(np.argmin(err)) == 1, (k, err)


@pytest.mark.parametrize("factor", [2, 3, 5])
def test_depth_preshrink_samples_pixel_centres(factor):
    """A depth map pre-shrunk by an integer factor keeps, at prescaled pixel i, the source pixel whose
    centre is nearest the prescaled pixel's centre (i + 0.5) * factor - 0.5, as the remap maps assume
    (plain INTER_NEAREST took pixel i * factor: half a source pixel off)."""
    n = 16 * factor
    ys, xs = np.mgrid[0:n, 0:n].astype(np.float32)
    depth = 1.0 + xs + 1000.0 * ys                                   # value encodes its source pixel
    side = 16
    u, v = np.meshgrid(np.arange(side, dtype=np.float32), np.arange(side, dtype=np.float32))
    target = Pinhole(10.0, 10.0, (side - 1) / 2, (side - 1) / 2, side, side)
    rect = Rectifier(target, u, v, prescale=1.0 / factor)            # target pixel = prescaled pixel
    out = rect.depth(depth)
    centre = lambda i: np.floor((i + 0.5) * factor)                  # nearest centre (ties: the later one)
    expect = 1.0 + centre(u) + 1000.0 * centre(v)
    np.testing.assert_array_equal(out, expect.astype(np.float32))
    if factor % 2:   # odd factors: the prescaled centre is exactly a source pixel centre
        np.testing.assert_array_equal(out, 1.0 + (u * factor + factor // 2) + 1000.0 * (v * factor + factor // 2))


def test_inventory_expected_clips_match_curation(raw_copy):
    """A normal sequence: its clip count; a short one: 0 when curation refuses it, 1 when it is curated as
    one padded clip (``allow_short``, evaluation datasets)."""
    raw = raw_copy("egogen")
    short, normal = _sequences(raw)[:2]
    for name in ("rgb", "depth_clean", "smplx_params"):
        for p in (raw / short / name).iterdir():
            if int(p.stem) > 30:
                p.unlink()
    for cfg, want in ((CFG, 0), (CurationConfig(preset="tiny", clip_resolution=64, allow_short=True), 1)):
        out = raw.parent.parent / f"inventory_{cfg.allow_short}" / "inventory.parquet"
        inv = {r["sequence_id"]: r for r in build_inventory(raw, out, "egogen", cfg, workers=1, progress=False).rows}
        rows, _ = _curate(raw, cfg)
        made = {s: sum(r["sequence_id"] == s for r in rows) for s in (short, normal)}
        assert inv[short]["expected_clips"] == made[short] == want
        assert inv[normal]["expected_clips"] == made[normal] >= 1
        shutil.rmtree(raw.parent.parent / "clips")


def _set_pose_rows(seq_dir: Path, stamps: set[int], tx: str) -> int:
    """Write translation x = ``tx`` into the trajectory rows at the given TIME_CODE stamps."""
    rows = list(csv.reader(open(seq_dir / "headset_trajectory.csv")))
    col, hits = rows[0].index("t_wo_x[m]"), 0
    for r in rows[1:]:
        if int(r[1]) in stamps:
            r[col], hits = tx, hits + 1
    with open(seq_dir / "headset_trajectory.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return hits


@pytest.mark.parametrize("name", ["hot3d_aria", "hot3d_quest3"])
def test_hot3d_masked_headset_pose_is_not_used(aria_layouts, tmp_path, name):
    src = aria_layouts[name]
    seq_id = READERS[name].list_sequences(src)[0]
    raw = tmp_path / "data" / "raw" / name
    seq_dir = raw / seq_id
    shutil.copytree(src / seq_id, seq_dir)
    ts, streams, ok = read_hot3d_mask(seq_dir / "masks" / "mask_headset_pose_available.csv")
    masked = {int(t) for t in ts[~ok]}
    assert len(masked) == 2                                  # one frame: its camera and SLAM stamps
    assert _set_pose_rows(seq_dir, masked, "100.0") == 2     # a wild pose where the mask says unavailable
    seq = READERS[name].open(raw, seq_id, 64)
    assert np.abs(seq.camera.T_world_cam[:, 0, 3]).max() < 10 and seq.meta["masked_pose_rows"] == 2
    k = masked_pose_frame(len(seq.frame_times))
    assert np.min(np.abs(seq.camera.times - seq.frame_times[k])) > 0.02   # no pose sample at that frame
    # curated: the frame's camera is interpolated from its neighbours, not the masked (wild) pose
    rows, quarantine = _curate(raw)
    assert quarantine == [] and rows and all(r["has_camera"] for r in rows)
    cams = np.load(next((tmp_path / "data" / "clips").glob("*/camera_world.npy")))
    assert np.abs(cams[:, 0, 3]).max() < 10
    # badly exposed frame: listed by device time for RGB-derived supervision
    bad = bad_exposure_frame(len(seq.frame_times))
    assert seq.meta["bad_exposure_frames"] == 1
    assert seq.meta["bad_exposure_times_s"][0] == pytest.approx(seq.frame_times[bad], abs=1e-6)


@pytest.mark.reference
def test_hot3d_mask_format_matches_reference(reference, aria_layouts):
    """The synthetic masks have the real sample's columns, value spelling and per-stream rows."""
    real = reference / "hot3d" / "Aria" / "P0003_c701bd11" / "masks"
    if not real.is_dir():
        pytest.skip(f"no HOT3D masks under {real}")
    synth = aria_layouts["hot3d_aria"] / READERS["hot3d_aria"].list_sequences(aria_layouts["hot3d_aria"])[0] / "masks"
    for name in ("mask_headset_pose_available.csv", "mask_good_exposure.csv"):
        assert (real / name).read_text().splitlines()[0] == (synth / name).read_text().splitlines()[0]
        ts_r, st_r, ok_r = read_hot3d_mask(real / name)
        ts_s, st_s, _ = read_hot3d_mask(synth / name)
        assert set(st_r) == set(st_s) == {"214-1", "1201-1", "1201-2"} and ok_r.all()
        # the real trajectory is stamped at the mask's stamps (TIME_CODE ns)
        traj = np.loadtxt(real.parent / "headset_trajectory.csv", delimiter=",", skiprows=1, usecols=1, dtype=np.int64)
        assert set(ts_r) <= set(traj)
