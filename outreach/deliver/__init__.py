"""Deliver: checked messages leave, as drafts or through SMTP, each recorded before it goes.

Owns drafting (``drafts``: .eml files or the IMAP Drafts folder), the SMTP client (``smtp``,
the only module that talks SMTP), pacing and the daily cap (``pacing``), send windows in the
recipient's time (``windows``), the store's send lock and crash recovery (``lock``), the send
loop and its plan (``sending``), one run of `send` from lock to last message (``session``) and
threaded follow-ups (``followup``). The top stage: it may import ``compose``, ``store``,
``track``, ``mailbox`` and the support modules; nothing imports it but the cli.
"""
