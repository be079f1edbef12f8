"""The baseline for benchmarks/throughput.py: a bare Flask endpoint, served the same way."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "Hello"
