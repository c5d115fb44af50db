"""``egom2p <command> …``: one entry point for the command-line tools.

    egom2p predict video.mp4 --model data/runs/tiny --out predictions/
    egom2p train --config run.yaml [--set key=value ...]
    egom2p synth --layout egogen --out data/raw/egogen
"""
from __future__ import annotations

import sys

COMMANDS = {"predict": "egom2p.tasks.predict", "train": "egom2p.model.train", "synth": "egom2p.synth.__main__"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(__doc__.strip() + f"\n\ncommands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    import importlib
    result = importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
