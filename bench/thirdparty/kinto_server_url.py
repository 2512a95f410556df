"""pytest plugin (loaded with `-p kinto_server_url`) that points kinto-http's functional tests at our server.

The suite reads its server from the constant `kinto_http.constants.SERVER_URL` ("http://localhost:8888/v1"),
which its conftest imports by name; there is no environment variable or option for it. A `-p` plugin is
imported before any conftest, so rebinding the constant here is seen by the unmodified tests.
"""

import os

import kinto_http.constants

kinto_http.constants.SERVER_URL = os.environ["KINTO_SERVER_URL"]
