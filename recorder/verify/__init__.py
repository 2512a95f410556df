"""Verification against a real provider, with states set up from the recording.

run              `verify`: run the core's verifier and summarise what it found
recorded_states  `--states-from-recording`: setups replayed from the recording
relay            `--state-url`: the provider's own state URL, relayed
restart          `--reset-command`: a provider started afresh
"""

__all__ = ["run", "recorded_states", "relay", "restart"]
