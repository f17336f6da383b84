"""Storage: SQLModel tables, the async engine, queries and Alembic migrations.

All datetimes in the database are aware UTC; code converts to local time at the edges.
"""
