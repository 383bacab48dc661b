"""The web face of the workspace: FastAPI app, routers, templates, static assets (no CDN)."""
