"""Compose: a contacts CSV and a template become checked messages, before anything leaves.

Owns reading CSV exports (``contacts``, ``firstlines``, ``columns``), the sandboxed Jinja
template (``templates``) and the header block it writes (``headers``), the interview log
(``interviews``), the lint rules (``checks``), the streaming render-and-check pass (``batch``),
the grouping of many rows' problems (``findings``), A/B assignment (``variants``) and ``Draft``
-> ``EmailMessage`` (``message``). Pure: no store, no server, no terminal. May import only the
support modules at the top of ``outreach`` (errors, clock, zones, addresses, persona, suggest,
and output's ``plural``); every later stage may import it, the store never does.
"""
