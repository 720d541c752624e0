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


def json_script(data: Any, element_id: str) -> str:
    """``data`` as strict JSON (:func:`~cnntopo.io.strict_json`) in a ``<script type="application/json">``
    element; a page's script reads it with ``JSON.parse(document.getElementById(element_id).textContent)``.
    Every ``</`` is written ``<\\/``, so no string in the data (a class folder's name, say) can close the
    element and run as markup."""
    payload = strict_json(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="{element_id}">{payload}</script>'
