import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";

/** The repository root, from test/src/helm (vitest) and test/dist/helm (built). */
export const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));
export const chartDir = join(repoRoot, "charts", "launchbay");
export const fixturesDir = join(repoRoot, "test", "src", "helm", "fixtures");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion; never throws on a non-zero exit (the caller asserts). */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        env: options.env ?? process.env,
        cwd: options.cwd ?? repoRoot,
        maxBuffer: 64 * 1024 * 1024,
        timeout: options.timeoutMs ?? 180_000,
        killSignal: "SIGKILL",
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          if (error.killed) {
            resolve({ code: -1, stdout, stderr: `${stderr}\n(killed: ${error.message})` });
          } else reject(error);
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Paths of the pinned tools (helm, kubectl) and the admin kubeconfig of the test control plane. */
export function k8sTools(): { toolsDir: string; kubeconfig: string } {
  const toolsDir = process.env.LAUNCHBAY_TEST_K8S_TOOLS;
  const kubeconfig = process.env.LAUNCHBAY_TEST_KUBECONFIG;
  if (!toolsDir || !kubeconfig) {
    throw new Error(
      "LAUNCHBAY_TEST_K8S_TOOLS and LAUNCHBAY_TEST_KUBECONFIG are unset: run these tests in the vitest project k8s (npx vitest run --project k8s test/src/helm)",
    );
  }
  return { toolsDir, kubeconfig };
}

/** Helm's own state (cache, config, data) in a throwaway directory, so runs share nothing. */
export async function helmEnv(
  kubeconfig?: string,
): Promise<{ env: NodeJS.ProcessEnv; dispose: () => Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), "launchbay-helm-"));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    HELM_CACHE_HOME: join(home, "cache"),
    HELM_CONFIG_HOME: join(home, "config"),
    HELM_DATA_HOME: join(home, "data"),
  };
  if (kubeconfig) env.KUBECONFIG = kubeconfig;
  return { env, dispose: () => rm(home, { recursive: true, force: true }) };
}

export async function helm(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<RunResult> {
  const { toolsDir } = k8sTools();
  return run(join(toolsDir, "helm"), args, { env, ...(input === undefined ? {} : { input }) });
}

export async function kubectl(args: readonly string[], input?: string): Promise<RunResult> {
  const { toolsDir, kubeconfig } = k8sTools();
  return run(join(toolsDir, "kubectl"), ["--kubeconfig", kubeconfig, ...args], {
    ...(input === undefined ? {} : { input }),
  });
}

/** Throws with the command's output when it failed. */
export function ok(result: RunResult, what: string): string {
  if (result.code !== 0) {
    throw new Error(
      `${what} failed (exit ${result.code}):\n${result.stderr}\n${result.stdout.slice(0, 2000)}`,
    );
  }
  return result.stdout;
}

export interface KubeManifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are inspected field by field in tests
  [field: string]: any;
}

/** Parses a multi-document YAML stream (helm template output), skipping empty documents. */
export function parseManifests(text: string): KubeManifest[] {
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0)
        throw new Error(`invalid YAML rendered: ${doc.errors[0]?.message}`);
      return doc.toJS() as KubeManifest | null;
    })
    .filter((m): m is KubeManifest => m !== null && typeof m === "object");
}

/** Writes values to a temporary YAML file; returns its path and a disposer. */
export async function valuesFile(
  values: unknown,
): Promise<{ path: string; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "launchbay-values-"));
  const path = join(dir, "values.yaml");
  await writeFile(path, stringify(values));
  return { path, dispose: () => rm(dir, { recursive: true, force: true }) };
}

export function find(manifests: KubeManifest[], kind: string, nameSuffix = ""): KubeManifest {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name.endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind} named *${nameSuffix} was rendered`);
  return found;
}

/** The pod template of a workload (Deployment, DaemonSet, Job). */
export function podSpecOf(workload: KubeManifest): {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
} {
  return workload.spec.template;
}

/** Applies the chart's CRDs (idempotent; other tests may have applied the same ones). */
export async function ensureCrds(): Promise<void> {
  ok(
    await kubectl([
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=launchbay-chart-tests",
      "-f",
      join(chartDir, "crds"),
    ]),
    "kubectl apply the chart's CRDs",
  );
  // kubectl wait fails at once (".status.conditions accessor error") on a CRD whose status
  // has no conditions yet, right after it was created: ask again until the deadline.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const result = await kubectl([
      "wait",
      "--for=condition=Established",
      "--timeout=60s",
      "crd/workshops.launchbay.dev",
      "crd/sandboxes.launchbay.dev",
    ]);
    if (result.code === 0 || !result.stderr.includes("accessor error") || Date.now() > deadline) {
      ok(result, "waiting for the CRDs to be established");
      return;
    }
  }
}

/** A namespace enforcing Pod Security `restricted` (latest), after the chart's CRDs; `labels` adds more (`key=value`). */
export async function createRestrictedNamespace(
  namespace: string,
  labels: readonly string[] = [],
): Promise<void> {
  await ensureCrds();
  ok(await kubectl(["create", "namespace", namespace]), `create namespace ${namespace}`);
  ok(
    await kubectl([
      "label",
      "namespace",
      namespace,
      "pod-security.kubernetes.io/enforce=restricted",
      "pod-security.kubernetes.io/enforce-version=latest",
      ...labels,
    ]),
    `label namespace ${namespace} restricted`,
  );
}
