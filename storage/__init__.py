"""Terrain's data: models, sessions, queries grouped by aggregate, files, migrations.

Nothing here imports aiogram; queries never commit (the caller's unit of work does).
"""
