"""Time the partition checks of ``normalized_clips`` (``check_partition``) on 4 canonical clips at 512² (the
paper preset's clip side) of the egogen layout; the partition is built once under /tmp/chkb.

    python benchmarks/bench_checks.py
"""
import sys, time
from pathlib import Path
if __name__ == "__main__":
    root = Path("/tmp/chkb")
    from egom2p.paths import DataPaths
    paths = DataPaths(root)
    if not (paths.clips("egogen") / "index.parquet").exists():
        from egom2p.synth.layouts import LAYOUTS
        from egom2p.curation.config import CurationConfig
        from egom2p.curation.clips import curate_clips
        from egom2p.curation.depth import label_depth
        from egom2p.curation.normalize import normalize_partition
        LAYOUTS["egogen"](paths.raw("egogen"), sequences=2, seconds=4.5, seed=1, progress=False)
        cfg = CurationConfig(clip_resolution=512)
        curate_clips(paths.raw("egogen"), paths.interim_clips("egogen"), "egogen", cfg, progress=False)
        label_depth(paths.interim_clips("egogen"), paths.interim_depth("egogen"), "egogen", progress=False)
        normalize_partition(paths.interim_clips("egogen"), paths.interim_depth("egogen"), paths.clips("egogen"),
                            "egogen", cfg, progress=False)
    from egom2p.curation.checks import check_partition
    t = time.time(); r = check_partition(paths.clips("egogen")); dt = time.time() - t
    print(f"check_partition {dt:.2f} s", {k: v[0] for k, v in r.items()})
