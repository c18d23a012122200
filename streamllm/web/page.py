"""The page at ``GET /``: one static HTML file with its script and styles inline.

It is served with a Content-Security-Policy that allows only its own inline
script and style (by hash) and requests to its own origin: even if model output
ever reached the DOM as markup, no script in it could run.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from importlib import resources

from starlette.responses import HTMLResponse

__all__ = ["page_response"]

_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


@functools.cache
def _page() -> tuple[bytes, str]:
    html = resources.files("streamllm.web").joinpath("static/index.html").read_text("utf-8")
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for match in _INLINE.finditer(html):
        digest = hashlib.sha256(match.group(2).encode()).digest()
        hashes[match.group(1)].append(f"'sha256-{base64.b64encode(digest).decode()}'")
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(hashes['script'])}",
            f"style-src {' '.join(hashes['style'])}",
            "connect-src 'self'",
            "img-src 'self' data:",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return html.encode(), policy


def page_response() -> HTMLResponse:
    body, policy = _page()
    return HTMLResponse(
        body,
        headers={
            "content-security-policy": policy,
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "cache-control": "no-cache",
        },
    )
