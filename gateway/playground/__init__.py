"""The self-hosted GraphiQL playground: page, assets, examples and sandbox hints."""

from gateway.playground.examples import EXAMPLES, Example
from gateway.playground.hints import HINTS, Hint
from gateway.playground.page import ASSETS_URL, PlaygroundOrGraphQL, assets_app

__all__ = [
    "ASSETS_URL",
    "EXAMPLES",
    "HINTS",
    "Example",
    "Hint",
    "PlaygroundOrGraphQL",
    "assets_app",
]
