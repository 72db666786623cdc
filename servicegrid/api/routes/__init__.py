"""The service's routes, one module per concern: nearest, batch, lookup and coverage, collections,
updates, status. Each module has one ``APIRouter``; :func:`servicegrid.api.app.create_app`
includes them all."""
