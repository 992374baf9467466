"""Alembic environment: the schema is SQLModel's metadata; the connection comes from app.schema."""
from alembic import context
from sqlmodel import SQLModel

from app.schema import import_tables
from config.database import UTCDateTime


def render_item(type_, obj, autogen_context):
    """Migrations name plain SQLAlchemy types: UTCDateTime is a timestamp with time zone."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


import_tables()
connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=SQLModel.metadata,
                  render_as_batch=connection.dialect.name == "sqlite", compare_type=True,
                  render_item=render_item)
with context.begin_transaction():
    context.run_migrations()
