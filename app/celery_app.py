"""Entry point for `celery --app app.celery_app worker|beat`."""
from app import create_app

flask_app = create_app()
celery_app = flask_app.extensions["celery"]
