import { type ChildProcess, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { kubectl, ok, repoRoot } from "./chart-tools.js";

/** The admin kubeconfig's API server address and CA (base64 PEM). */
export async function clusterOf(): Promise<{ server: string; caData: string }> {
  const config = JSON.parse(
    ok(await kubectl(["config", "view", "--raw", "-o", "json"]), "kubectl config view"),
  ) as {
    clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  };
  const cluster = config.clusters[0]?.cluster;
  if (!cluster) throw new Error("the test kubeconfig has no cluster");
  return { server: cluster.server, caData: cluster["certificate-authority-data"] };
}

/**
 * A kubeconfig that authenticates as a ServiceAccount with a TokenRequest token: what a
 * pod of that ServiceAccount would present to the API server.
 */
export async function serviceAccountKubeconfig(
  dir: string,
  namespace: string,
  serviceAccount: string,
): Promise<{ path: string; token: string; caFile: string; server: string }> {
  const token = ok(
    await kubectl(["create", "token", serviceAccount, "-n", namespace, "--duration=1h"]),
    `TokenRequest for ${serviceAccount}`,
  ).trim();
  const { server, caData } = await clusterOf();
  const path = join(dir, `${serviceAccount}.kubeconfig`);
  const caFile = join(dir, `${serviceAccount}-ca.crt`);
  await writeFile(caFile, Buffer.from(caData, "base64"));
  await writeFile(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server, "certificate-authority-data": caData } }],
      users: [{ name: serviceAccount, user: { token } }],
      contexts: [{ name: "sa", context: { cluster: "c", user: serviceAccount, namespace } }],
      "current-context": "sa",
    }),
  );
  return { path, token, caFile, server };
}

/** The env a Deployment's container gets from its ConfigMap (envFrom) and Secret refs (env). */
export async function containerEnv(
  namespace: string,
  deployment: string,
): Promise<Record<string, string>> {
  const d = JSON.parse(
    ok(
      await kubectl(["get", "deployment", deployment, "-n", namespace, "-o", "json"]),
      "get deployment",
    ),
  ) as {
    spec: {
      template: {
        spec: {
          containers: {
            envFrom?: { configMapRef?: { name: string } }[];
            env?: {
              name: string;
              value?: string;
              valueFrom?: { secretKeyRef?: { name: string; key: string } };
            }[];
          }[];
        };
      };
    };
  };
  const container = d.spec.template.spec.containers[0];
  if (!container) throw new Error(`${deployment} has no container`);
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (!source.configMapRef) continue;
    const cm = JSON.parse(
      ok(
        await kubectl([
          "get",
          "configmap",
          source.configMapRef.name,
          "-n",
          namespace,
          "-o",
          "json",
        ]),
        "get configmap",
      ),
    ) as { data: Record<string, string> };
    Object.assign(env, cm.data);
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    const ref = e.valueFrom?.secretKeyRef;
    if (ref) {
      const secret = JSON.parse(
        ok(await kubectl(["get", "secret", ref.name, "-n", namespace, "-o", "json"]), "get secret"),
      ) as { data: Record<string, string> };
      env[e.name] = Buffer.from(secret.data[ref.key] ?? "", "base64").toString("utf8");
    }
  }
  return env;
}

export interface StartedProcess {
  child: ChildProcess;
  output: string[];
  /** Resolves with the first JSON log line for which match() holds. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    what: string,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `node <script>` in its own process group, collecting its output lines. */
export function startNode(script: string, env: Record<string, string>): StartedProcess {
  const child = spawn(process.execPath, [join(repoRoot, script)], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  const listeners = new Set<(line: string) => void>();
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on("line", (line) => {
      output.push(line);
      for (const l of listeners) l(line);
    });
  }
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    child,
    output,
    waitForLog(match, what, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = (line: string) => {
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(line) as Record<string, unknown>;
          } catch {
            return;
          }
          if (match(parsed)) {
            done();
            resolve(parsed);
          }
        };
        const onExit = () => {
          done();
          reject(new Error(`${script} exited before ${what}:\n${output.slice(-30).join("\n")}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${what}:\n${output.slice(-30).join("\n")}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off("exit", onExit);
        };
        for (const line of output) check(line);
        listeners.add(check);
        child.once("exit", onExit);
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-(child.pid as number), "SIGTERM");
      } catch {
        return;
      }
      const killer = setTimeout(() => {
        try {
          process.kill(-(child.pid as number), "SIGKILL");
        } catch {
          // already gone
        }
      }, 5000);
      await exited;
      clearTimeout(killer);
    },
  };
}
