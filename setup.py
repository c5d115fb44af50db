"""Package discovery for the egom2p namespace.

pyproject.toml maps each top-level folder to ``egom2p.<folder>`` (``[tool.setuptools.package-dir]``);
nested packages resolve through their parent's mapping. A bare mapping lists no nested subpackages in a
wheel, so ``find_packages`` runs per folder here and every one is listed explicitly.
"""
from setuptools import find_packages, setup

FOLDERS = {"core": "egom2p", "synth": "egom2p.synth", "curation": "egom2p.curation",
           "tokenizers": "egom2p.tokenizers", "model": "egom2p.model", "tasks": "egom2p.tasks",
           "assets": "egom2p.assets", "pipelines": "egom2p.pipelines"}

packages = []
for folder, name in FOLDERS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages)
