"""mitmproxy addon script: record traffic into a Pact file.

    mitmdump -s addons/pact_recorder.py --mode reverse:http://127.0.0.1:5001 \\
        --set pact_consumer=user-web --set pact_provider=user-service --set pact_out=pacts/

The addon itself lives in the installed package (`pip install -e .`), so `pact-recorder record` and
this script run the same code.
"""

from recorder.addon import PactRecorder

addons = [PactRecorder()]
