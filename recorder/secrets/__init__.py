"""Secrets: redacted at record time, filled back in at verify time (in memory only).

redact  credentials replaced before an exchange is kept, each one named
fill    real values back where the recording redacted them
"""

__all__ = ["redact", "fill"]
