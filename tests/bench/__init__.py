"""Tests of `make bench`: its pure helpers, and one quick end-to-end run."""
