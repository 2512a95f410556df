"""Inference: observations of each interaction -> matchers, path templates, evidence.

observation  one Observation per interaction key, updated by each exchange (the evidence)
render       an observation as the interaction the pact holds: its messages, matchers, generators
endpoints    path templates: which segments are variables
collapse     sibling literal paths become one template
shapes       incremental JSON shapes (genson with our strategies)
matchers     Pact matching rules for JSON bodies
headers      which headers belong in a contract, with which matchers
xmlbody      matching rules for XML responses
sampling     bounded evidence: which response bodies are read
"""

__all__ = ["observation", "render", "endpoints", "collapse", "shapes", "matchers", "headers", "xmlbody", "sampling"]
