"""The web face of the workspace: FastAPI app, routers, templates, static assets (no CDN)."""

from rempart.web._app import create_app

__all__ = ["create_app"]
