"""Compose: a contacts CSV and a template become checked messages, before anything leaves.

Owns reading CSV exports (``contacts``, ``firstlines``), the sandboxed Jinja template and its
header block (``templates``), the lint rules (``checks``), the streaming render-and-check pass
(``batch``), A/B assignment (``variants``) and ``Draft`` -> ``EmailMessage`` (``message``). Pure:
no store, no server, no terminal. May import only the support modules at the top of
``outreach`` (errors, clock, config, addresses); every other stage may import it.
"""
