"""Track: the tracking store and what it knows about each person and conversation.

Owns the SQLite store (``store``: schema, migrations, queries), what each event means
(``outcomes``), manual marks (``marks``), who is due a follow-up and status rows (``threads``,
``policy``) and the response-rate reports (``report``). May import the support modules and
``compose``'s data types; never a server module. ``mailbox`` and ``deliver`` write to it.
"""
