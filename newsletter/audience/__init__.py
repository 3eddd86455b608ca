"""The audience: people and their lists, from signup to unsubscribe, with proof of consent.

The use cases (each owns its transaction through ``app.db``):

* ``signup``       the form's signup, confirm (double opt-in), the purge of stale signups
* ``unsubscribe``  one-click and page unsubscribes from a series, a list or everything
* ``staff``        staff add, list, export (GDPR access) and erase people
* ``csv_files``    import and export subscriber CSV files
* ``mail``         the confirmation and welcome emails those steps queue

The records and rules they share (delivery reads these too, never the use cases):

* ``people``       find-or-create people and subscriptions; suppressions (the one check)
* ``consent``      the append-only consent records
* ``tokens``       signed confirm/unsubscribe tokens and the links that carry them (pure)
* ``addresses``    address, name and time-zone rules (pure)
* ``form``         the embeddable signup form and the consent text's version hash (pure)
"""
