"""The case store: SQLAlchemy tables, migrations, and the case repository."""
