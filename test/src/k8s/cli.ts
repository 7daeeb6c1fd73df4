#!/usr/bin/env node
// npm run k8s:up    start a control plane in the background; print `export` lines for a shell
// npm run k8s:down  stop it and delete its state
import { backgroundDown, backgroundUp } from "./background.js";
import { K8sHarnessError } from "./errors.js";
import { backgroundRunDir, exportLines } from "./run-dir.js";

const usage = "usage: node test/dist/k8s/cli.js up|down   (npm run k8s:up / npm run k8s:down)";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (rest.length > 0 || (command !== "up" && command !== "down")) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  if (command === "up") {
    const started = Date.now();
    const { status, state } = await backgroundUp();
    process.stderr.write(
      status === "already-up"
        ? `k8s control plane already up at ${state.server} (state in ${state.dataDir})\n`
        : `k8s control plane up at ${state.server} in ${Date.now() - started} ms (state and logs in ${state.dataDir}); stop it with npm run k8s:down\n`,
    );
    process.stdout.write(exportLines(state.kubeconfig, state.toolsDir));
    return 0;
  }
  const stopped = await backgroundDown();
  process.stderr.write(
    stopped
      ? "k8s control plane stopped\n"
      : `no k8s control plane was running (${backgroundRunDir()})\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const code = error instanceof K8sHarnessError ? ` [${error.code}]` : "";
    process.stderr.write(`k8s${code}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
