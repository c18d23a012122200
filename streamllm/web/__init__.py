"""The web side of streamllm (extra ``[web]``): SSE endpoints, the Vercel AI SDK
stream and a page, fed by the bus (DESIGN.md section 14).

>>> from streamllm import FakeListLLM
>>> from streamllm.web import create_app
>>> app = create_app(FakeListLLM(responses=["Hello there"]))   # doctest: +SKIP

Serve it with ``streamllm serve`` or any ASGI server (``uvicorn.run(app)``).
"""

from __future__ import annotations

from streamllm.web.app import create_app

__all__ = ["create_app"]
