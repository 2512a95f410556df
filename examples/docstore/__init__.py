"""A stateful example: a tiny document store (accounts, stores > collections > records, ETags,
cursor pagination) and a client that runs a realistic story against it."""
