"""Capture: what the proxy saw, as plain values. The only package that reads mitmproxy objects.

flows        mitmproxy flows -> raw parts (and a redacted copy for --save-flows)
kept_bodies  binary request bodies over --max-body kept beside the states file as they stream past
parts        raw parts -> Exchange, in the recording process
readers      a .mitm dump or a HAR file -> parts, for `infer`
redirects    a redirected request recorded as the consumer sent it
selection    which exchanges are recorded (the `select` rules)
"""

__all__ = ["flows", "kept_bodies", "parts", "readers", "redirects", "selection"]
