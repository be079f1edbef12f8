"""The portal served from a thread on loopback, for the browser ring."""
import logging
import threading

from werkzeug.serving import make_server

from portal.extensions import db


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        with self.app.app_context():  # no connection left open on the test's database
            db.session.remove()
            db.engine.dispose()
