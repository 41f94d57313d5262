"""Mailbox: reading what came back (IMAP, mbox, Maildir) and recording it against what we sent.

Owns the IMAP client (``imap``, the only module that talks IMAP: it also appends drafts for
``deliver``), the pure classifier of incoming mail (``classify``) and the sync pipeline
(``sync``: screen, classify, match, record, and the `sync`/`classify` entry points). May import
the support modules, ``store`` and ``track``; never ``deliver`` or ``compose``'s rendering.
"""
