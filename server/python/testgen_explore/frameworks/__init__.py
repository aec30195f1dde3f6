"""Web frameworks: Flask and FastAPI routes as targets (spec, flask, fastapi,
routes, app) and Django's set-up for the code of a Django project (django)."""
