"""Provider states: the recording as a sequence of resources, and what each interaction needs.

timeline         what each request needed before it ran, and how to make that again
provider_states  the named states of an interaction, from the timeline's needs
"""

__all__ = ["timeline", "provider_states"]
