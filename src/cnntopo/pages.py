"""What every offline page of the project (the mapper explorer, the profile viewer) embeds: images as
PNG data URIs and its data as a JSON script element, so that one HTML file opens anywhere, offline."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from cnntopo.io import strict_json


def png_data_uri(image: np.ndarray | bytes, optimize: bool = False) -> str:
    """A ``data:image/png;base64,...`` URI of one ``(H, W, 3)`` uint8 image, or of a PNG file's bytes;
    ``optimize`` spends time on a smaller file (worth it for the explorer's large sprites)."""
    if isinstance(image, bytes):
        return "data:image/png;base64," + base64.b64encode(image).decode()
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=optimize)
    return png_data_uri(buffer.getvalue())


def thumbnail_data_uri(image: np.ndarray, side: int = 64) -> str:
    """A data URI of one ``(H, W, 3)`` uint8 image for a list of thumbnails: as it is (PNG) when it fits in
    ``side`` pixels, otherwise shrunk to fit (box filter) and JPEG-encoded, about 2 KB for a photograph
    where a 224-pixel PNG is about 100 KB: a page of tens of thousands of rows stays loadable."""
    if max(image.shape[:2]) <= side:
        return png_data_uri(image)
    from PIL import Image

    small = Image.fromarray(image)
    small.thumbnail((side, side), Image.Resampling.BOX)
    buffer = io.BytesIO()
    small.save(buffer, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def json_script(data: Any, element_id: str) -> str:
    """``data`` as strict JSON (:func:`~cnntopo.io.strict_json`) in a ``<script type="application/json">``
    element; a page's script reads it with ``JSON.parse(document.getElementById(element_id).textContent)``.
    Every ``</`` is written ``<\\/``, so no string in the data (a class folder's name, say) can close the
    element and run as markup."""
    payload = strict_json(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{payload}</script>'
