"""The floor under gunicorn, on the portal's settings from the environment:
`gunicorn -c gunicorn.conf.py benchmarks.floor.wsgi:app` (benchmarks/throughput.py)."""
import os

import config
from benchmarks.floor import create_floor_app

_settings = config.config_by_name(os.environ.get("PORTAL_CONFIG") or config.DEFAULT_CONFIG)
app = create_floor_app({name: getattr(_settings, name) for name in dir(_settings)
                        if name.isupper()})
