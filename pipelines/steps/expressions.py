"""A small, safe expression language for transform, parsed here into polars expressions.

Nothing is evaluated as Python: the parser accepts only the grammar below and builds polars
expressions from a fixed table of operators and functions.

    expression := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := sum [("=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">=") sum
                       | "is" ["not"] "null" | ["not"] "in" "(" literal ("," literal)* ")"]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/" | "%") unary)*
    unary      := "-" unary | atom
    atom       := number | 'text' | true | false | null | column | "column name"
                | function "(" [expression ("," expression)*] ")" | "(" expression ")"
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

MAX_LENGTH = 2000
MAX_DEPTH = 40
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | '(?P<text>(?:[^']|'')*)'
      | "(?P<column>(?:[^"]|"")+)"
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op><=|>=|==|!=|<>|[-+*/%=<>(),])
    )""",
    re.VERBOSE,
)
KEYWORDS = {"and", "or", "not", "is", "in", "null", "true", "false"}


class ExpressionError(ValueError):
    """The expression does not follow the grammar; ``position`` is the 0-based offset."""

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"{reason} at position {position}")
        self.reason = reason
        self.position = position


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str
    position: int


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens; raises ExpressionError on anything else."""
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", MAX_LENGTH)
    tokens = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            start = len(text[position:]) - len(text[position:].lstrip()) + position
            raise ExpressionError(f"unexpected character {text[start]!r}", start)
        kind = match.lastgroup or ""
        value = match.group(kind)
        start = match.start(kind)
        if kind == "text":
            value = value.replace("''", "'")
        elif kind == "column":
            value = value.replace('""', '"')
        elif kind == "name" and value.lower() in KEYWORDS:
            kind, value = "keyword", value.lower()
        tokens.append(Token(kind, value, start))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _functions() -> dict[str, tuple[int, int, Callable[..., pl.Expr]]]:
    import polars as pl

    def coalesce(*args: pl.Expr) -> pl.Expr:
        return pl.coalesce(args)

    def concat(*args: pl.Expr) -> pl.Expr:
        return pl.concat_str([arg.cast(pl.String) for arg in args])

    # name: (fewest arguments, most arguments, builder)
    return {
        "lower": (1, 1, lambda x: x.str.to_lowercase()),
        "upper": (1, 1, lambda x: x.str.to_uppercase()),
        "trim": (1, 1, lambda x: x.str.strip_chars()),
        "length": (1, 1, lambda x: x.str.len_chars()),
        "abs": (1, 1, lambda x: x.abs()),
        "round": (1, 2, lambda x, digits=None: x.round(_int_literal(digits))),
        "coalesce": (1, 20, coalesce),
        "concat": (1, 20, concat),
        "year": (1, 1, lambda x: x.dt.year()),
        "month": (1, 1, lambda x: x.dt.month()),
        "day": (1, 1, lambda x: x.dt.day()),
        "starts_with": (2, 2, lambda x, prefix: x.str.starts_with(prefix)),
        "contains": (2, 2, lambda x, part: x.str.contains(part, literal=True)),
    }


def _int_literal(expression: pl.Expr | None) -> int:
    if expression is None:
        return 0
    import polars as pl

    value = pl.select(expression).item()
    if not isinstance(value, int):
        raise ExpressionError("round takes a whole number of digits", 0)
    return value


@dataclass
class Parser:
    """Recursive descent over the tokens; collects the columns the expression reads."""

    tokens: list[Token]
    index: int = 0
    depth: int = 0
    columns: set[str] = field(default_factory=set)

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def take(self, kind: str, value: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (value is None or token.value == value):
            self.index += 1
            return token
        return None

    def expect(self, kind: str, value: str) -> Token:
        token = self.take(kind, value)
        if token is None:
            raise ExpressionError(f"expected {value!r}", self.current.position)
        return token

    def parse(self) -> pl.Expr:
        expression = self.or_()
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {self.current.value!r}", self.current.position)
        return expression

    def or_(self) -> pl.Expr:
        expression = self.and_()
        while self.take("keyword", "or"):
            expression = expression | self.and_()
        return expression

    def and_(self) -> pl.Expr:
        expression = self.not_()
        while self.take("keyword", "and"):
            expression = expression & self.not_()
        return expression

    def not_(self) -> pl.Expr:
        if self.take("keyword", "not"):
            return self.nested(lambda: ~self.not_())
        return self.comparison()

    def comparison(self) -> pl.Expr:
        left = self.sum()
        token = self.current
        if token.kind == "op" and token.value in ("=", "==", "!=", "<>", "<", "<=", ">", ">="):
            self.index += 1
            right = self.sum()
            return {
                "=": left.eq,
                "==": left.eq,
                "!=": left.ne,
                "<>": left.ne,
                "<": left.lt,
                "<=": left.le,
                ">": left.gt,
                ">=": left.ge,
            }[token.value](right)
        if self.take("keyword", "is"):
            negated = self.take("keyword", "not") is not None
            self.expect("keyword", "null")
            return left.is_not_null() if negated else left.is_null()
        negated = False
        if token.kind == "keyword" and token.value == "not":
            following = self.tokens[self.index + 1]
            if following.kind == "keyword" and following.value == "in":
                self.index += 1
                negated = True
        if self.take("keyword", "in"):
            values = self.literal_list()
            return ~left.is_in(values) if negated else left.is_in(values)
        return left

    def literal_list(self) -> list[Any]:
        self.expect("op", "(")
        values = [self.literal()]
        while self.take("op", ","):
            values.append(self.literal())
        self.expect("op", ")")
        return values

    def literal(self) -> Any:
        token = self.current
        negative = self.take("op", "-") is not None
        token = self.current
        if token.kind == "number":
            self.index += 1
            number = _number(token.value)
            return -number if negative else number
        if not negative and token.kind == "text":
            self.index += 1
            return token.value
        raise ExpressionError("expected a number or a 'text' literal", token.position)

    def sum(self) -> pl.Expr:
        expression = self.product()
        while (token := self.current).kind == "op" and token.value in "+-":
            self.index += 1
            right = self.product()
            expression = expression + right if token.value == "+" else expression - right
        return expression

    def product(self) -> pl.Expr:
        expression = self.unary()
        while (token := self.current).kind == "op" and token.value in ("*", "/", "%"):
            self.index += 1
            right = self.unary()
            if token.value == "*":
                expression = expression * right
            elif token.value == "/":
                expression = expression / right
            else:
                expression = expression % right
        return expression

    def unary(self) -> pl.Expr:
        if self.take("op", "-"):
            return self.nested(lambda: -self.unary())
        return self.atom()

    def atom(self) -> pl.Expr:
        import polars as pl

        token = self.current
        self.index += 1
        if token.kind == "number":
            return pl.lit(_number(token.value))
        if token.kind == "text":
            return pl.lit(token.value, dtype=pl.String)
        if token.kind == "keyword" and token.value in ("true", "false"):
            return pl.lit(token.value == "true")
        if token.kind == "keyword" and token.value == "null":
            return pl.lit(None)
        if token.kind == "column":
            self.columns.add(token.value)
            return pl.col(token.value)
        if token.kind == "name":
            if self.current.kind == "op" and self.current.value == "(":
                return self.call(token)
            self.columns.add(token.value)
            return pl.col(token.value)
        if token.kind == "op" and token.value == "(":
            expression = self.nested(self.or_)
            self.expect("op", ")")
            return expression
        what = "the end" if token.kind == "end" else repr(token.value)
        raise ExpressionError(f"unexpected {what}", token.position)

    def call(self, name: Token) -> pl.Expr:
        functions = _functions()
        if name.value.lower() not in functions:
            known = ", ".join(sorted(functions))
            raise ExpressionError(
                f"unknown function {name.value!r} (known: {known})", name.position
            )
        fewest, most, build = functions[name.value.lower()]
        self.expect("op", "(")
        arguments = []
        if not self.take("op", ")"):
            arguments.append(self.nested(self.or_))
            while self.take("op", ","):
                arguments.append(self.nested(self.or_))
            self.expect("op", ")")
        if not fewest <= len(arguments) <= most:
            raise ExpressionError(
                f"{name.value} takes {fewest}"
                + (f" to {most}" if most != fewest else "")
                + " arguments",
                name.position,
            )
        return build(*arguments)

    def nested(self, parse: Callable[[], pl.Expr]) -> pl.Expr:
        # Bounded depth: a hostile expression cannot exhaust the interpreter's stack.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"nested deeper than {MAX_DEPTH} levels", self.current.position)
        try:
            return parse()
        finally:
            self.depth -= 1


def _number(text: str) -> int | float:
    return float(text) if any(char in text for char in ".eE") else int(text)


def compile_expression(text: str) -> tuple[pl.Expr, set[str]]:
    """Parse ``text`` into a polars expression and the columns it reads.

    Raises ExpressionError naming the position of the first problem.
    """
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError("the expression is empty", 0)
    parser = Parser(tokenize(text))
    return parser.parse(), parser.columns
