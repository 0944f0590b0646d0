"""Front-end packages served straight from node_modules (installed by scripts/setup from
package.json), limited to the files the pages use: no hand-copied bundles. The modeler's
ES-module packages (bpmn-js-properties-panel, camunda-bpmn-moddle, camunda-bpmn-js-behaviors)
are bundled by esbuild into ui/static/build/modeler.js instead (``npm run build``).
"""

from flask import Blueprint, abort, send_from_directory

from engine.config import PROJECT_ROOT

NODE_MODULES = PROJECT_ROOT / "node_modules"

#: Which package folders may be served, and only their distribution files.
ALLOWED = {
    "bpmn-js": "dist",
    "bpmn-js-properties-panel": "dist",
    "@bpmn-io/properties-panel": "dist",
    "camunda-bpmn-moddle": "resources",
    "chart.js": "dist",
    "htmx.org": "dist",
    "diagram-js": "assets",
    "bpmn-js-bpmnlint": "dist",
    "dmn-js": "dist",
}

vendor = Blueprint("vendor", __name__)


@vendor.route("/vendor/<path:path>")
def asset(path: str):
    """A file from an allowed package's distribution folder."""
    for package, folder in ALLOWED.items():
        prefix = f"{package}/{folder}/"
        if path.startswith(prefix):
            base = NODE_MODULES / package / folder
            return send_from_directory(base, path[len(prefix):], max_age=3600)
    abort(404)
