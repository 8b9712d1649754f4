"""Channels translate between the outside world and the engine's Message/Reply."""
