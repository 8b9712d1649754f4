"""Understanding residents: normalization, intent matching and slot extraction.

`Matcher.match(text)` gives a `Verdict`; `MatcherProvider` keeps one matcher per
process and rebuilds it when staff change the FAQ catalog.
"""

from .catalog import Intent, load_builtin_intents
from .matcher import Matcher, Verdict
from .provider import MatcherProvider

__all__ = ["Intent", "Matcher", "MatcherProvider", "Verdict", "load_builtin_intents"]
