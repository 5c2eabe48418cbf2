"""URL rules that compile their URL builders on first use, not when the app is built.

Werkzeug compiles two Python functions per rule (through ``ast`` and ``compile``) to build
its URLs. That is most of what registering the API's blueprints costs, and a cold start of
the api function pays it for every rule, while a request builds the URLs of a few rules at
most. Matching requests is unaffected: the rule's regular expression is compiled as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from inspect import iscoroutinefunction
from itertools import chain
from typing import Any, NoReturn

from flask import Flask, Request, Response
from flask.globals import request_ctx
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import MethodNotAllowed
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


# Functions ensure_sync has seen, by their underlying function: whether each is a coroutine.
# Bounded: a caller handing it a new closure per request must not grow it without end.
MAX_KNOWN_FUNCTIONS = 4096


class LazyRoutingFlask(Flask):
    """Flask whose every rule, its static files' included, compiles URL builders late.

    ``ensure_sync`` remembers which functions are plain: Flask asks for every hook and
    view of every request, and ``inspect.iscoroutinefunction`` unwraps each one each time.
    The request hooks run as Flask's own run them, with fewer lookups.
    """

    url_rule_class = LazyBuilderRule

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plain_functions: dict[Any, bool] = {}

    def make_default_options_response(self) -> Response:
        """OPTIONS: ``Allow`` lists the URL's methods, and the answer has no content.

        Flask's own answer is an empty ``text/html`` document, which a page's hooks then
        take for a page. RFC 9110 9.3.7: with no content, Content-Length is 0 (and a 204
        may not carry one, so the status stays 200). The methods are sorted: Werkzeug
        gathers them in a set, whose order changes from one process to the next.
        """
        return options_answer(request_ctx.url_adapter.allowed_methods())

    def raise_routing_exception(self, request: Request) -> NoReturn:
        """Flask's, a 405's ``Allow`` sorted as OPTIONS answers it (Werkzeug gives a set)."""
        error = request.routing_exception
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            error.valid_methods = sorted(error.valid_methods)
        super().raise_routing_exception(request)

    def preprocess_request(self) -> ResponseReturnValue | None:
        """Flask's (3.1), the request and the hook lists each looked up once.

        Flask asks the request's context-local proxy again for each use, and each hook
        dictionary twice per blueprint; every request runs this, the hot reads included.
        """
        current = request_ctx._get_current_object().request  # type: ignore[attr-defined]
        names = (None, *reversed(current.blueprints))
        for name in names:
            for url_func in self.url_value_preprocessors.get(name, ()):
                url_func(current.endpoint, current.view_args)
        ensure_sync = self.ensure_sync
        for name in names:
            for before_func in self.before_request_funcs.get(name, ()):
                answer = ensure_sync(before_func)()
                if answer is not None:
                    return answer  # type: ignore[no-any-return]
        return None

    def process_response(self, response: Response) -> Response:
        """Flask's (3.1), looking the request's context up once (see preprocess_request)."""
        ctx = request_ctx._get_current_object()  # type: ignore[attr-defined]
        ensure_sync = self.ensure_sync
        for func in ctx._after_request_functions:
            response = ensure_sync(func)(response)
        for name in chain(ctx.request.blueprints, (None,)):
            for func in reversed(self.after_request_funcs.get(name, ())):
                response = ensure_sync(func)(response)
        if not self.session_interface.is_null_session(ctx._session):
            self.session_interface.save_session(self, ctx._session, response)
        return response

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's ``ensure_sync``, without inspecting a function it has seen before."""
        # A bound method is new on every access; the function under it is not.
        key = getattr(func, "__func__", func)
        try:
            plain = self._plain_functions.get(key)
        except TypeError:  # unhashable: ask as Flask does
            return super().ensure_sync(func)
        if plain is None:
            plain = not iscoroutinefunction(func)
            if len(self._plain_functions) < MAX_KNOWN_FUNCTIONS:
                self._plain_functions[key] = plain
        return func if plain else self.async_to_sync(func)


def options_answer(methods: Iterable[str]) -> Response:
    """An OPTIONS answer: ``Allow`` naming ``methods``, sorted, and no content (see
    ``LazyRoutingFlask.make_default_options_response``)."""
    response = Response(status=200)
    del response.headers["Content-Type"]
    response.headers["Allow"] = ", ".join(sorted(set(methods)))
    return response
