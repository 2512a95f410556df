"""Body formats read and written byte for byte where a provider cares.

json_text  JSON as a Pact file can carry it (finite numbers only)
multipart  multipart/form-data bodies
"""

__all__ = ["json_text", "multipart"]
