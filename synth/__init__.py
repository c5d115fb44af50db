"""The embedded synthetic egocentric world.

- :mod:`.world`: procedural rooms / tabletops with textured primitives, one moving object, arms;
- :mod:`.render`: vectorized numpy ray caster with exact z-depth for any lens (pinhole, FISHEYE624);
- :mod:`.motion`: head-mounted camera (walking / seated) and eye gaze (fixations, saccades, pursuit,
  VOR, blinks), continuous in time;
- :mod:`.layouts`: writers of each dataset's native layout (``LAYOUTS``), CLI ``python -m egom2p.synth``.
"""
from .motion import EgoMotion, Trajectory, make_motion
from .render import cast, fisheye_rays, pinhole_rays, render, render_depth, rotate_upright
from .world import Material, Motion, Primitive, World, make_world

__all__ = ["EgoMotion", "Trajectory", "make_motion", "cast", "fisheye_rays", "pinhole_rays", "render",
           "render_depth", "rotate_upright", "Material", "Motion", "Primitive", "World", "make_world"]
