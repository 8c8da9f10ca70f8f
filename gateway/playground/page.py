"""The playground page on GET /graphql (for browsers) and its bundled assets, all same-origin.

The page is a small HTML shell: one stylesheet, one script and the page's settings as a JSON
data block (not executed, so the Content-Security-Policy needs no inline script). The assets
are built from playground/ by `make playground` into gateway/playground/assets/.
"""

from __future__ import annotations

import html
import json
import secrets
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.config import Config
from gateway.http.guards import error_response, wants_page
from gateway.playground.examples import EXAMPLES
from gateway.playground.hints import HINTS
from gateway.schema.codes import Code

ASSETS = Path(__file__).parent / "assets"
ASSETS_URL = "/playground/assets"
SCRIPT, STYLESHEET = "playground.js", "playground.css"
NOT_BUILT = "The playground's assets are not built: run `make playground` (needs Node.js and npm)."


def content_security_policy(style_nonce: str) -> str:
    # Radix UI (inside GraphiQL) injects a <style> element for its dialogs; it carries this
    # response's nonce, which the script reads from the settings block.
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{style_nonce}'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def page_settings(config: Config) -> dict[str, Any]:
    """What the page needs to know, for the JSON block; no secret ever goes in here."""
    configured = [name for name in EXAMPLES if name in config.providers]
    return {
        "endpoint": "/graphql",
        "sandbox": config.sandbox,
        "authRequired": bool(config.gateway.api_keys),
        "examples": [
            {
                "provider": name.name,
                "label": name.label,
                "name": example.name,
                "query": example.query,
                "variables": example.variables,
                "note": example.note,
            }
            for name in configured
            for example in EXAMPLES[name]
        ],
        "hints": [
            {
                "provider": name.name,
                "label": name.label,
                "items": [{"label": hint.label, "values": hint.values} for hint in HINTS[name]],
            }
            for name in configured
            if config.sandbox and HINTS[name]
        ],
    }


def _json_block(value: Any) -> str:
    # Inside <script type="application/json"> only "</" could end the block early.
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def render_page(settings: dict[str, Any], style_nonce: str) -> str:
    data = _json_block({**settings, "styleNonce": style_nonce})
    title = "Contact gateway · GraphQL playground" + (" (sandbox)" if settings["sandbox"] else "")
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{ASSETS_URL}/{STYLESHEET}">
<script id="playground-settings" type="application/json">{data}</script>
<script defer src="{ASSETS_URL}/{SCRIPT}"></script>
</head>
<body>
<div id="playground"><noscript>The playground needs JavaScript.</noscript></div>
</body>
</html>
"""


class PlaygroundOrGraphQL:
    """GET /graphql from a browser gets the page; everything else goes to the GraphQL view."""

    def __init__(self, graphql: ASGIApp, config: Config) -> None:
        self.graphql = graphql
        self.settings = page_settings(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and wants_page(scope):
            await self.page()(scope, receive, send)
            return
        await self.graphql(scope, receive, send)

    def page(self) -> Response:
        if not (ASSETS / SCRIPT).is_file():
            return HTMLResponse(f"<!doctype html><title>Playground</title><p>{NOT_BUILT}", 503)
        nonce = secrets.token_urlsafe(16)
        return HTMLResponse(
            render_page(self.settings, nonce),
            headers={
                "Content-Security-Policy": content_security_policy(nonce),
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )


class _Assets(StaticFiles):
    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def assets_app() -> ASGIApp:
    """The built bundle, or a clear 503 when it was never built (never a 500)."""
    if ASSETS.is_dir():
        return _Assets(directory=ASSETS)
    return error_response(503, Code.PLAYGROUND_NOT_BUILT, NOT_BUILT)
