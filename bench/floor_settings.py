"""Settings for `bench/load.py --scenario floor`: the product's own, with one URL more (bench/floor_urls.py).

The floor is the least a call-log POST can do and still be one, through the same stack (gunicorn, every
middleware, the session, the user, the CSRF check), so the figure next to the real POST's tells how much of a
POST's cost is the stack's and how much is ours. Never used outside the benchmark.
"""

from warmcrm.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
