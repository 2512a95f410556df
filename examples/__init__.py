"""Bundled example consumer/provider pairs, used by `make demo` and by the tests."""
