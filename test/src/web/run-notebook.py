"""Executes notebooks with nbclient (tslab kernel) and prints one JSON line per notebook.

Usage: run-notebook.py <work dir> [--solutions] <notebook>...

With --solutions, each exercise cell (metadata `launchbay.solution`: a path beside the
notebook) runs its solution file instead of the attendee's empty cell, so CI checks that
every solution works against the notebook's own earlier cells. Besides the text outputs,
the line carries every Vega-Lite chart the notebook displayed (`charts`).
"""
import json
import os
import sys
import time

import nbclient
import nbformat

VEGA_LITE = "application/vnd.vegalite.v5+json"

work_dir = sys.argv[1]
args = sys.argv[2:]
with_solutions = "--solutions" in args
for path in [a for a in args if a != "--solutions"]:
    nb = nbformat.read(path, as_version=4)
    solved = []
    for cell in nb.cells:
        solution = cell.get("metadata", {}).get("launchbay", {}).get("solution")
        if solution and with_solutions:
            with open(os.path.join(os.path.dirname(path), solution), encoding="utf-8") as f:
                cell.source = f.read()
            solved.append(solution)
    started = time.time()
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="tslab", resources={"metadata": {"path": work_dir}})
    error = None
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        error = str(exc)[-2000:]
    outputs = []
    charts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            outputs.append(out.get("text") or str(data.get("text/plain", "")))
            if VEGA_LITE in data:
                charts.append(data[VEGA_LITE])
    print(json.dumps({"notebook": path, "seconds": round(time.time() - started, 1), "error": error, "outputs": outputs, "charts": charts, "solved": solved}), flush=True)
