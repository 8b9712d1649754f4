"""PLACEHOLDER (being written): citizenbot eval."""


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?")


def main(args) -> int:
    return 0
