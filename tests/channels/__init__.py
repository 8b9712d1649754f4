"""Tests of the channels (LINE webhook and rendering, web chat)."""
