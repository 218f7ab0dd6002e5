"""Alembic environment: plain SQL migrations of the unified database (schema `onestop`)."""

from alembic import context
from sqlalchemy import create_engine, text

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url)
with engine.begin() as connection:
    connection.execute(text("CREATE SCHEMA IF NOT EXISTS onestop"))
    context.configure(connection=connection, version_table_schema="onestop", transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
