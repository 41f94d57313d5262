"""Track: what the store means to a person: the gate, status, follow-ups due, reports, the season.

Owns manual marks (``marks``), a contact's history across campaigns (``history``), who is due a
follow-up and status rows (``threads``, ``policy``), the response-rate reports (``report``) and
the interview season (``season``, ``calendar``). May import the support modules, ``store`` and
``compose``'s readers (contacts, the interview log, column names); never a server module.
``mailbox`` and ``deliver`` read it.
"""
