"""The HTTP door (contract section 5): a FastAPI app over the core, hardened and bounded.

`api.app.create_app()` builds it; `api.server.run()` serves it (`advisor serve`).
"""
