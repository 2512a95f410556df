"""pact-recorder: turn recorded HTTP traffic into Pact contracts with inferred matchers."""

__version__ = "0.1.0"
