import { type ChildProcess, execFile, spawn } from "node:child_process";
import { access, mkdtemp, readFile, rm } from "node:fs/promises";
import { once } from "node:events";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { backgroundDown, backgroundUp } from "./background.js";
import { extensions } from "./certificates.js";
import { startControlPlane } from "./control-plane.js";
import { K8sHarnessError, K8sHarnessErrorCode, k8sHarnessErrorHelp } from "./errors.js";
import { firstServiceIp } from "./layout.js";
import { kwokNodeManifests } from "./nodes.js";
import { parseControlPlaneOptions } from "./options.js";
import { isAlive } from "./processes.js";
import { exportLines } from "./run-dir.js";
import { readState } from "./state.js";
import { k8sAssetsDir } from "./tools-dir.js";

const run = promisify(execFile);

describe("control-plane options", () => {
  it("rejects invalid options with the field that is wrong", async () => {
    const failure = startControlPlane({ nodes: { count: -1, memory: "lots" } });
    await expect(failure).rejects.toBeInstanceOf(K8sHarnessError);
    await expect(failure).rejects.toMatchObject({ code: K8sHarnessErrorCode.InvalidOptions });
    await expect(failure).rejects.toThrow(
      /nodes\.count: .*nodes\.memory: must be a Kubernetes quantity/,
    );
  });

  it("defaults to two nodes of 8 CPU, 32Gi and 110 pods", () => {
    const options = parseControlPlaneOptions(undefined);
    const manifests = kwokNodeManifests(options.nodes) as {
      metadata: { name: string };
      status: { allocatable: object };
    }[];
    expect(manifests.map((m) => m.metadata.name)).toEqual(["kwok-node-0", "kwok-node-1"]);
    expect(manifests[0]?.status.allocatable).toMatchObject({
      cpu: "8",
      memory: "32Gi",
      pods: "110",
    });
  });
});

describe("harness helpers", () => {
  it("puts the kubernetes Service IP first in the service range", () => {
    expect(firstServiceIp("10.96.0.0/16")).toBe("10.96.0.1");
    expect(firstServiceIp("172.20.255.255/16")).toBe("172.21.0.0");
    expect(() => firstServiceIp("not-a-cidr")).toThrow(/not an IPv4 CIDR/);
  });

  it("names the serving certificate's addresses in subjectAltName", () => {
    const ext = extensions({
      name: "s",
      commonName: "s",
      usage: "server",
      dnsNames: ["localhost"],
      ips: ["127.0.0.1"],
    });
    expect(ext).toContain("extendedKeyUsage=serverAuth\n");
    expect(ext).toContain("subjectAltName=DNS:localhost,IP:127.0.0.1");
  });

  it("quotes paths in the export lines it prints for a shell", async () => {
    const lines = exportLines("/tmp/a b/kubeconfig", "/opt/it's/bin");
    const { stdout } = await run("bash", [
      "-c",
      `${lines}printf '%s\\n' "$KUBECONFIG" "\${PATH%%:*}"`,
    ]);
    expect(stdout).toBe("/tmp/a b/kubeconfig\n/opt/it's/bin\n");
  });

  it("documents every error code in test/k8s/README.md", async () => {
    const readme = await readFile(join(k8sAssetsDir, "README.md"), "utf8");
    for (const code of Object.values(K8sHarnessErrorCode)) {
      expect(k8sHarnessErrorHelp[code]).toBeTruthy();
      expect(readme).toContain(code);
    }
  });
});

describe("background control plane (npm run k8s:up / k8s:down)", () => {
  let parent: string | undefined;
  afterEach(async () => {
    if (parent) {
      await backgroundDown(join(parent, "run"));
      await rm(parent, { recursive: true, force: true });
    }
  });

  it("starts once, reports it is already up, and stops every process leaving nothing behind", {
    timeout: 300_000,
  }, async () => {
    parent = await mkdtemp(join(tmpdir(), "launchbay-k8s-up-test-"));
    const runDir = join(parent, "run");
    const first = await backgroundUp(runDir);
    expect(first.status).toBe("started");
    const pids = Object.values(first.state.pids);
    expect(Object.keys(first.state.pids)).toEqual([
      "etcd",
      "kube-apiserver",
      "kube-controller-manager",
      "kube-scheduler",
      "kwok",
    ]);
    expect(pids.every(isAlive)).toBe(true);

    const second = await backgroundUp(runDir);
    expect(second).toEqual({ status: "already-up", state: first.state });

    const { stdout } = await run(join(first.state.toolsDir, "kubectl"), [
      "--kubeconfig",
      first.state.kubeconfig,
      "get",
      "nodes",
      "-o",
      "name",
    ]);
    expect(stdout.trim().split("\n")).toEqual(["node/kwok-node-0", "node/kwok-node-1"]);

    expect(await backgroundDown(runDir)).toBe(true);
    expect(pids.filter(isAlive)).toEqual([]);
    await expect(access(runDir)).rejects.toThrow();
    expect(await backgroundDown(runDir)).toBe(false);
  });
});

describe("a control plane whose starter dies", () => {
  let starter: ChildProcess | undefined;
  afterEach(() => {
    if (starter?.exitCode === null && starter.signalCode === null) starter.kill("SIGKILL");
  });

  it("is stopped and deleted by its watchdog when the process that started it is SIGKILLed", {
    timeout: 300_000,
  }, async () => {
    const cli = join(k8sAssetsDir, "..", "dist", "k8s", "cli.js");
    await access(cli).catch(() => {
      throw new Error(`${cli} is missing: build first (npm run build, or npx tsc -b test)`);
    });
    starter = spawn(process.execPath, [cli, "run"], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    starter.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    let stdout = "";
    const exported = new Promise<string>((resolve, reject) => {
      starter?.stdout?.on("data", (c: Buffer) => {
        stdout += c.toString();
        const match = /^export KUBECONFIG=(.+)$/m.exec(stdout);
        if (match?.[1]) resolve(match[1]);
      });
      starter?.once("exit", (code) =>
        reject(new Error(`cli.js run exited with ${code}: ${stderr}`)),
      );
    });
    const kubeconfig = await exported;
    const state = await readState(join(kubeconfig, "..", "state.json"));
    const pids = Object.values(state.pids);
    expect(pids).toHaveLength(5);
    expect(pids.every(isAlive)).toBe(true);

    const exited = once(starter, "exit");
    starter.kill("SIGKILL");
    await exited;
    // The components are not this process's children: no exit event to wait on, so poll.
    const deadline = Date.now() + 60_000;
    while (
      pids.some(isAlive) ||
      (await access(state.dataDir).then(
        () => true,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error(`still alive: ${pids.filter(isAlive).join(", ")}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
