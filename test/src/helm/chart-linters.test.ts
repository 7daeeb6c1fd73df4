import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_SANDBOX_DEFAULTS,
  desiredObjects,
  namespaceObject,
  parseWorkshop,
  secretObject,
} from "@launchbay/operator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  chartDir,
  ensureCrds,
  fixturesDir,
  helm,
  helmEnv,
  k8sTools,
  ok,
  parseManifests,
  run,
} from "./chart-tools.js";
import { lintToolsDir, writeKubeconformSchemas } from "./lint-tools.js";

/**
 * The lint gates a platform team runs before letting a chart into its cluster, as part of
 * `npm test` (any finding fails the run): chart-testing's `ct lint`, kubeconform (strict,
 * with schemas generated from this control plane's own /openapi/v2, CRDs included) and
 * kube-score, for the default values, the maximal values (every option on) and the objects
 * the operator creates per sandbox (its pure `desiredObjects`, for the Workshop each of
 * those renders). `helm lint --strict` is in chart-render.test.ts. The kube-score checks
 * left out, each with its reason, are listed below and in the chart README.
 */
const maximal = join(fixturesDir, "values-maximal.yaml");
let env: NodeJS.ProcessEnv;
let disposeHelm: () => Promise<void>;
let dir: string;
let bin: string;
let schemaLocation: string;
const files: Record<string, string> = {};

/** kube-score checks that do not fit, and why (also in charts/launchbay/README.md). */
const KUBE_SCORE_IGNORED = {
  // uid 1000 is the images' own user (node images); the check wants > 10000. Pod Security
  // `restricted` (runAsNonRoot, no privilege escalation, all capabilities dropped) holds.
  "container-security-context-user-group-id": "uid/gid 1000 is the images' user",
  // Tags are pinned per release (appVersion) or by digest; `IfNotPresent` is what the
  // pre-puller relies on (sandboxes start from the node's copy).
  "container-image-pull-policy": "IfNotPresent on purpose (pre-pulled sandbox images)",
} as const;

/**
 * Further kube-score checks that do not fit the per-sandbox objects (one attendee's
 * short-lived cluster, sized exactly by its ResourceQuota), and why.
 */
const KUBE_SCORE_IGNORED_IN_SANDBOXES = {
  // Recreate on purpose: the quota holds exactly the template's pods, a surge pod would not fit.
  "deployment-strategy": "Recreate: the sandbox quota leaves no room for a surge pod",
  // One scheduler and one notebook per attendee is the design (a second would be a second runtime).
  "deployment-replicas": "one scheduler and one notebook per sandbox by design",
  // Short-lived per-attendee pods: a PDB would hold node drains and scale-down for hours.
  "deployment-has-poddisruptionbudget": "a PDB would block node drains and autoscaler scale-down",
  // Packing a sandbox's workers on few nodes is fine (and needed on small pools).
  "deployment-has-host-podantiaffinity": "a sandbox's workers may share a node",
  // The worker serves one port: readiness (every 5 s) and liveness (6 × 10 s) both check it
  // accepts connections, with different periods and thresholds.
  "pod-probes-identical": "the worker has one port to probe; thresholds differ",
} as const;

async function renderTo(name: string, args: string[]): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  const out = ok(
    await helm(["template", "lint", chartDir, "--namespace", "lb", ...args], env),
    `helm template ${name}`,
  );
  await writeFile(path, out);
  files[name] = path;
  return out;
}

/** The objects the operator creates for one sandbox of the Workshop a render holds. */
async function sandboxObjectsTo(name: string, rendered: string): Promise<void> {
  const workshop = parseManifests(rendered).find((m) => m.kind === "Workshop");
  const parsed = parseWorkshop(workshop);
  if (!parsed.ok) throw new Error(`the rendered Workshop is invalid: ${parsed.error}`);
  const ref = { namespace: "lb", name: "alice", workshop: parsed.workshop.metadata.name };
  const namespace = "lb-sbx-alice";
  const objects = [
    namespaceObject(ref, namespace),
    secretObject(ref, namespace, { runtimeToken: "r".repeat(43), notebookToken: "n".repeat(43) }),
    ...desiredObjects({
      ref,
      namespace,
      template: parsed.workshop.spec.sandbox,
      defaults: DEFAULT_SANDBOX_DEFAULTS,
    }),
  ];
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, objects.map((o) => `---\n${stringify(o)}`).join(""));
  files[name] = path;
}

beforeAll(async () => {
  ({ env, dispose: disposeHelm } = await helmEnv(k8sTools().kubeconfig));
  dir = await mkdtemp(join(tmpdir(), "launchbay-chart-lint-"));
  bin = await lintToolsDir();
  await ensureCrds();
  schemaLocation = await writeKubeconformSchemas(join(dir, "schemas"));
  await sandboxObjectsTo("sandbox-default", await renderTo("default", []));
  await sandboxObjectsTo("sandbox-maximal", await renderTo("maximal", ["-f", maximal]));
});

afterAll(async () => {
  await disposeHelm?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const renders = ["default", "maximal", "sandbox-default", "sandbox-maximal"] as const;

describe("chart lint gates", () => {
  it("ct lint passes with the default and the maximal values", async () => {
    // ct lints a chart with each ci/*-values.yaml; a copy carries both value sets.
    const charts = join(dir, "ct", "charts");
    await mkdir(charts, { recursive: true });
    await cp(chartDir, join(charts, "launchbay"), { recursive: true });
    await mkdir(join(charts, "launchbay", "ci"), { recursive: true });
    await writeFile(join(charts, "launchbay", "ci", "default-values.yaml"), "{}\n");
    await cp(maximal, join(charts, "launchbay", "ci", "maximal-values.yaml"));
    const result = await run(
      join(bin, "ct"),
      [
        "lint",
        "--charts",
        join(charts, "launchbay"),
        "--chart-yaml-schema",
        join(bin, "etc", "chart_schema.yaml"),
        "--lint-conf",
        join(bin, "etc", "lintconf.yaml"),
        "--helm-lint-extra-args=--strict",
        // No version bump check: that compares against a git remote branch.
        "--check-version-increment=false",
        // Maintainer names are checked against github.com accounts (needs the internet).
        "--validate-maintainers=false",
      ],
      { env: { ...env, PATH: `${bin}:${k8sTools().toolsDir}:${process.env.PATH}` } },
    );
    const output = result.stdout + result.stderr;
    expect(output).toContain("All charts linted successfully");
    expect(output).toContain("ci/maximal-values.yaml");
    expect(result.code, output).toBe(0);
  });

  it.each(renders)("kubeconform (strict, this API server's schemas) accepts %s", async (name) => {
    const result = await run(join(bin, "kubeconform"), [
      "-strict",
      "-summary",
      "-output",
      "json",
      "-schema-location",
      schemaLocation,
      files[name] as string,
    ]);
    const report = JSON.parse(result.stdout) as {
      resources: { kind: string; name: string; status: string; msg: string }[];
      summary: { valid: number; invalid: number; errors: number; skipped: number };
    };
    const findings = report.resources.map((r) => `${r.kind}/${r.name}: ${r.status} ${r.msg}`);
    expect(findings).toEqual([]);
    expect(report.summary.invalid + report.summary.errors + report.summary.skipped).toBe(0);
    expect(report.summary.valid).toBeGreaterThan(5);
    expect(result.code).toBe(0);
  });

  it("kubeconform's schemas catch a typo (the check can fail)", async () => {
    const path = join(dir, "typo.yaml");
    await writeFile(
      path,
      stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "typo", namespace: "lb" },
        spec: { podSelector: {}, ingress: [{ from: [{ namespaceSelector: { matchLabel: {} } }] }] },
      }),
    );
    const result = await run(join(bin, "kubeconform"), [
      "-strict",
      "-schema-location",
      schemaLocation,
      path,
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain("matchLabel");
  });

  it.each(renders)("kube-score finds nothing in %s", async (name) => {
    const result = await run(join(bin, "kube-score"), [
      "score",
      "--output-format",
      "ci",
      ...Object.keys({
        ...KUBE_SCORE_IGNORED,
        ...(name.startsWith("sandbox") ? KUBE_SCORE_IGNORED_IN_SANDBOXES : {}),
      }).flatMap((test) => ["--ignore-test", test]),
      files[name] as string,
    ]);
    const findings = result.stdout
      .split("\n")
      .filter((line) => line.startsWith("[CRITICAL]") || line.startsWith("[WARNING]"));
    expect(findings).toEqual([]);
    expect(result.stdout).toContain("[OK]");
    expect(result.code, result.stderr).toBe(0);
  });
});
