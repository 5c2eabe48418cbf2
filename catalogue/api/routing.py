"""URL rules that compile their URL builders on first use, not when the app is built.

Werkzeug compiles two Python functions per rule (through ``ast`` and ``compile``) to build
its URLs. That is most of what registering the API's blueprints costs, and a cold start of
the api function pays it for every rule, while a request builds the URLs of a few rules at
most. Matching requests is unaffected: the rule's regular expression is compiled as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    """A rule whose URL builders are compiled the first time one is called."""

    # Werkzeug's compile() binds what this returns to the rule: a stand-in that compiles the
    # real builder once, on its first call, and keeps it (werkzeug<4 names it so).
    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., Any]:
        compile_real = super()._compile_builder
        compiled: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            if not compiled:
                compiled.append(compile_real(append_unknown).__get__(rule, None))
            return compiled[0](*args, **kwargs)

        return build


class LazyRoutingFlask(Flask):
    """Flask whose every rule, its static files' included, compiles URL builders late."""

    url_rule_class = LazyBuilderRule
