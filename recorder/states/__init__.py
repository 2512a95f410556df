"""Provider states: the recording as a sequence of resources, and what each interaction needs.

steps            a recorded request as a setup sends it again
handed_out       what responses handed out (bounded): the values later requests send back
timeline         what each request needed before it ran, and how to make that again
provider_states  the named states of an interaction, from the timeline's needs
"""

__all__ = ["steps", "handed_out", "timeline", "provider_states"]
