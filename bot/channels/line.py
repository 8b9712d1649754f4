"""PLACEHOLDER (being written): LINE webhook."""

from flask import Blueprint

bp = Blueprint("line", __name__)
