"""The outbox's durable rows, in Canvas's custom data (Postgres in Canvas, SQLite locally).

Canvas discovers CustomModel classes in this package and makes their tables at install
time (`canvas run-plugin`: at start). Receivers never import it: it needs canvas_sdk.
"""
