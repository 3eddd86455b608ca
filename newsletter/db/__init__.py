"""Database: typed models, the engine, the transaction helper (``transactions``), migrations.

Services write through ``app.db`` (:class:`newsletter.db.transactions.Transactions`):
one transaction per use case, the SQLite writer gate, one mapping of database errors.
"""
