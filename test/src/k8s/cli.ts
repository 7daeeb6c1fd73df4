#!/usr/bin/env node
// npm run k8s:up                  start a control plane in the background; print `export` lines for a shell
// npm run k8s:up -- --real-node   the same plus one real node (containerd, kubelet, kube-proxy,
//                                 kube-router, CoreDNS) running the images of `npm run images`
// npm run k8s:down                stop either, tear the real node down, delete the state
// node test/dist/k8s/cli.js run   start one in the foreground; print `export` lines; stop on SIGINT/SIGTERM
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { backgroundDown, backgroundUp } from "./background.js";
import { startControlPlane } from "./control-plane.js";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";
import { realNodePaths } from "./real-node/layout.js";
import {
  realNodeUnsupportedReason,
  runningRealNode,
  startRealNodeCluster,
} from "./real-node/start-real-node.js";
import { teardownRealNode } from "./real-node/teardown.js";
import { backgroundRunDir, exportLines, shellQuote } from "./run-dir.js";
import { k8sAssetsDir } from "./tools-dir.js";

const usage =
  "usage: node test/dist/k8s/cli.js up [--real-node] | down | run   (npm run k8s:up [-- --real-node] / npm run k8s:down)";

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const realNode = command === "up" && rest.length === 1 && rest[0] === "--real-node";
  if (
    (rest.length > 0 && !realNode) ||
    (command !== "up" && command !== "down" && command !== "run")
  ) {
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
  if (command === "up" && realNode) return upWithRealNode();
  if (command === "up") {
    if (await runningRealNode()) {
      throw new K8sHarnessError(
        K8sHarnessErrorCode.RealNodeBusy,
        "a control plane with a real node is up: use `npm run k8s:up -- --real-node` to print its lines, or `npm run k8s:down` first",
      );
    }
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
  const nodeDown = await teardownRealNode();
  const stopped = await backgroundDown();
  process.stderr.write(
    nodeDown
      ? "k8s control plane and real node stopped, host restored\n"
      : stopped
        ? "k8s control plane stopped\n"
        : `no k8s control plane was running (${backgroundRunDir()})\n`,
  );
  return 0;
}

async function upWithRealNode(): Promise<number> {
  const running = await runningRealNode();
  if (running?.kubeconfig && running.toolsDir && running.valuesFile) {
    process.stderr.write(
      `k8s control plane with real node already up (state in ${realNodePaths().runDir})\n`,
    );
    process.stdout.write(
      realNodeExportLines(running.kubeconfig, running.toolsDir, running.valuesFile),
    );
    return 0;
  }
  // Say why at once (not root, a program missing) rather than after the set-up scripts.
  const unsupported = await realNodeUnsupportedReason();
  if (unsupported) throw new K8sHarnessError(K8sHarnessErrorCode.RealNodeUnsupported, unsupported);
  const repo = join(k8sAssetsDir, "..", "..");
  // What a real node needs beyond the control plane: packages, node binaries, images (cached).
  for (const [script, args] of [
    ["scripts/setup.sh", ["realnode"]],
    ["scripts/images.sh", []],
  ] as const) {
    execFileSync("bash", [join(repo, script), ...args], { stdio: ["ignore", 2, 2] });
  }
  // A control plane without a node may be up: a real node brings its own.
  await backgroundDown();
  const started = Date.now();
  const cluster = await startRealNodeCluster({
    detached: true,
    dataDir: backgroundRunDir(),
    log: (line) => process.stderr.write(`[real-node] ${line}\n`),
  });
  process.stderr.write(
    `k8s control plane with real node ${cluster.nodeName} up at ${cluster.server} in ${Date.now() - started} ms; stop it with npm run k8s:down\n`,
  );
  process.stdout.write(
    realNodeExportLines(cluster.kubeconfig, cluster.toolsDir, cluster.valuesFile),
  );
  return 0;
}

function realNodeExportLines(kubeconfig: string, toolsDir: string, valuesFile: string): string {
  return `${exportLines(kubeconfig, toolsDir)}export LAUNCHBAY_IMAGE_VALUES=${shellQuote(valuesFile)}\n`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const code = error instanceof K8sHarnessError ? ` [${error.code}]` : "";
    process.stderr.write(`k8s${code}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
