"""Object classes for the recognition benchmark (concealed-object screening). The masks are
scene shapes of :mod:`sarsr.radar` (``radar.shape_scene("knife", ...)`` works without this
package); this module names them for the vision code."""

from ..radar.geometry.masks import OBJECT_CLASSES, object_mask

__all__ = ["OBJECT_CLASSES", "object_mask"]
