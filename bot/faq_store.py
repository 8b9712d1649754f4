"""PLACEHOLDER (being written): FAQ entries staff keep up to date."""


def seed_builtin_faq(database_url: str) -> int:
    return 0


def add_arguments(parser) -> None:
    pass


def cli(args, settings) -> int:
    return 0
