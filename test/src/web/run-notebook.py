"""Executes notebooks with nbclient (tslab kernel) and prints one JSON line per notebook."""
import json
import sys
import time

import nbclient
import nbformat

work_dir = sys.argv[1]
for path in sys.argv[2:]:
    nb = nbformat.read(path, as_version=4)
    started = time.time()
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="tslab", resources={"metadata": {"path": work_dir}})
    error = None
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - reported to the test
        error = str(exc)[-2000:]
    outputs = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            outputs.append(out.get("text") or str(out.get("data", {}).get("text/plain", "")))
    print(json.dumps({"notebook": path, "seconds": round(time.time() - started, 1), "error": error, "outputs": outputs}), flush=True)
