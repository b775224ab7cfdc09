from flask import Flask, request, jsonify
import subprocess
app = Flask(__name__)

@app.route("/search")
def search():
    q = request.args.get("q", "")
    return jsonify(results=[r for r in ["alpha", "beta"] if q in r])

def rebuild_index():
    subprocess.run(["/usr/bin/make", "index"], check=True)
