"""Provider states: the recording as a sequence of resources, and what each interaction needs.

steps            a recorded request as a setup sends it again
handed_out       what responses handed out (bounded): the values later requests send back
analogues        how the recording made an item of each collection (for items it never made)
memory           what the recording remembers of the traffic so far (bounded)
effects          what each exchange did to it: resources made, changed, deleted; values written
timeline         what each request needed before it ran, and how to make that again
provider_states  the named states of an interaction, from the timeline's needs
"""

__all__ = ["steps", "handed_out", "analogues", "memory", "effects", "timeline", "provider_states"]
