"""Body formats read and written byte for byte where a provider cares.

digests    whether a request names a digest of its own body (its bytes must go out as sent)
json_text  JSON as a Pact file can carry it (finite numbers only)
multipart  multipart/form-data bodies
"""

__all__ = ["digests", "json_text", "multipart"]
