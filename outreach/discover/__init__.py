"""Discover: a contacts sheet from PubMed, the people who publish on a topic and what each published.

Owns asking NCBI's E-utilities politely (``eutils``: tool and email on every request, the rate
NCBI allows, backoff, the workspace cache in ``cache``), what to ask (``pubmed``: a search on the
history server, records in batches, PMC articles for corresponding authors' addresses), reading
the answers (``records``, pure and safe against hostile XML; ``addresses`` found in the text),
who is who and who comes first (``ranking``), what the store already knows of them (``known``),
the sheet (``sheet``) and the run (``mentors``). May import the support modules, ``store`` and
``track``'s history (read only, and only when the store exists) and ``compose``'s CSV reader;
never a mail server module (``mailbox``, ``deliver``). Only the cli imports it.
"""
