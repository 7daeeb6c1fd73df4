#!/usr/bin/env node
// npm run k8s:up    start a control plane in the background; print `export` lines for a shell
// npm run k8s:down  stop it and delete its state
// node test/dist/k8s/cli.js run   start one in the foreground; print `export` lines; stop on SIGINT/SIGTERM
import { backgroundDown, backgroundUp } from "./background.js";
import { startControlPlane } from "./control-plane.js";
import { K8sHarnessError } from "./errors.js";
import { backgroundRunDir, exportLines } from "./run-dir.js";

const usage = "usage: node test/dist/k8s/cli.js up|down|run   (npm run k8s:up / npm run k8s:down)";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (rest.length > 0 || (command !== "up" && command !== "down" && command !== "run")) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  if (command === "run") {
    const started = Date.now();
    const plane = await startControlPlane();
    process.stderr.write(
      `k8s control plane up at ${plane.server} in ${Date.now() - started} ms (${plane.dataDir}); Ctrl-C stops it\n`,
    );
    process.stdout.write(exportLines(plane.kubeconfig, plane.toolsDir));
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    await plane.stop();
    process.stderr.write(`k8s control plane stopped (${signal})\n`);
    return 0;
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
