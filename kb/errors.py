"""One exception family for everything a user can get wrong or the world can break.

The CLI maps each class to a one-line message and its exit code; the app shows the same message.
"""


class KbError(Exception):
    """Base of every error meant for a person, not a traceback."""

    exit_code = 1


class ConfigError(KbError):
    """A setting is missing or invalid."""

    exit_code = 2


class UsageError(KbError):
    """The request itself is unusable: an empty query, an unknown locator, a bad option."""

    exit_code = 2


class NotFoundError(KbError):
    """An unknown document id or locator."""

    exit_code = 3


class FetchError(KbError):
    """A document could not be fetched: HTTP error, timeout, robots.txt, size limit, checksum."""

    exit_code = 4


class ParseError(KbError):
    """A document could not be parsed: malformed, empty, encrypted or corrupt."""

    exit_code = 5


class StoreError(KbError):
    """The store or catalogue could not complete an operation; nothing was changed."""

    exit_code = 6


class LlmError(KbError):
    """The language model could not be loaded, reached or run."""

    exit_code = 7
