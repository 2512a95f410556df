"""Body formats read and written byte for byte where a provider cares.

digests    whether a request names a digest of its own body (its bytes must go out as sent)
graphql    which operation a GraphQL request asks for, and the regex its query text must match
json_text  JSON as a Pact file can carry it (finite numbers only)
multipart  multipart/form-data bodies
statements statements of a query language sent in one parameter: their kind, a regex of their shape
"""

__all__ = ["digests", "graphql", "json_text", "multipart", "statements"]
