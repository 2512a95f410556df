"""Tools on a recorded pact: review, replay, prune, scaffold.

review       what was inferred and why, for a reviewer
replay       the contract answering a consumer as the provider would
prune        which response fields the consumer's tests read
pruned_pact  a pact without the fields its consumer does not read
scaffold     state handlers as a Python module to fill in
"""

__all__ = ["review", "replay", "prune", "pruned_pact", "scaffold"]
