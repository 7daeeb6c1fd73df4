"""Runs a notebook with nbclient (tslab kernel); prints the message types the kernel sent
and the outputs of every code cell as one JSON line."""
import json
import sys

import nbclient
import nbformat

path = sys.argv[1]
nb = nbformat.read(path, as_version=4)
types = []


class Recording(nbclient.NotebookClient):
    def process_message(self, msg, cell, cell_index):
        types.append(msg["header"]["msg_type"])
        return super().process_message(msg, cell, cell_index)


client = Recording(nb, timeout=120, kernel_name="tslab", resources={"metadata": {"path": sys.argv[2]}})
error = None
try:
    client.execute()
except Exception as exc:  # noqa: BLE001 - reported to the test
    error = str(exc)[-2000:]
outputs = [cell.get("outputs", []) for cell in nb.cells if cell.cell_type == "code"]
print(json.dumps({"error": error, "types": types, "outputs": outputs}), flush=True)
