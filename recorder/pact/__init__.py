"""The Pact document, and the Pact core that judges it.

document       interactions -> a V4 or V3 Pact document and the states hints
selfcheck      a pact verified against the responses it was recorded from
diff           what changed between two pacts
core_parser    the core's parser: does it accept a document?
core_match     the core's mock server: which interactions accept a request?
core_verifier  the core's verifier, one adapter for self-check and verify
"""

__all__ = ["document", "selfcheck", "diff", "core_parser", "core_match", "core_verifier"]
