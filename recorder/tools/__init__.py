"""Tools on a recorded pact: review, replay, prune, scaffold.

review       what was inferred and why, for a reviewer
review_page  the review as an HTML page a reviewer works in (decisions saved as a file)
replay       the contract answering a consumer as the provider would
prune        which parts of the responses the consumer's tests read
prune_probe  the pytest plugin prune loads into a suite: which test made each request, which failed
pruned_pact  a pact without the fields its consumer does not read
scaffold     state handlers as a Python module to fill in
"""

__all__ = ["review", "review_page", "replay", "prune", "prune_probe", "pruned_pact", "scaffold"]
