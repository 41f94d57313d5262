"""How large a template and what it renders may be: read by the sandbox and by the parts that
are written without Jinja (a template of text and ``{{ variable }}``s loads no Jinja at all)."""

MAX_RENDERED_CHARS = 1_000_000  # a rendered part, and any value written out
MAX_TEMPLATE_CHARS = 50_000     # a template file: compiling 1 MB of tags takes half a minute
