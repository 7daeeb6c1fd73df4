import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { disableNetworkPolicyEnforcement } from "../k8s/real-node/enforcement.js";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { archiveKey } from "@launchbay/archive";
import { createRestrictedNamespace, helm, helmEnv, kubectl, ok } from "../helm/chart-tools.js";
import { realNode } from "../k8s/real-node/layout.js";
import { type MinioServer, startMinio } from "../minio/minio-server.js";
import {
  apply,
  builtImages,
  getJson,
  idleScript,
  listenScript,
  nodePod,
  podsIn,
  probeDns,
  probeTcp,
  waitPodsReady,
} from "./pods.js";
import type {} from "./provided-context.js";
import { installChart } from "./chart-install.js";
import { describeLaunchInChromium } from "./launch-in-chromium.js";

/**
 * The chart, the operator and a sandbox on real pods: the images of `npm run images` run as
 * containers on a real kubelet, and the operator's NetworkPolicies are enforced by
 * kube-router. Every probe is a real TCP connection from a real pod.
 */
const provided = inject("realNode");
if (provided.skipped) console.warn(`[real-node] skipped: ${provided.skipped}`);
/** The running cluster (tests only run when there is one). */
function cluster() {
  if (provided.skipped !== undefined) throw new Error(`no real node: ${provided.skipped}`);
  return provided;
}

const release = "lb";
const ns = "launchbay";
const otherNs = "rn-other";
const outsideNs = "rn-outside";
let env: NodeJS.ProcessEnv;
let disposeHelm: (() => Promise<void>) | undefined;
let disposeValues: (() => Promise<void>) | undefined;
let images: Record<string, string>;
/**
 * The attendees' archives: MinIO on this machine, on the pod bridge's address (the node's
 * IP), which pods reach without their traffic leaving the machine.
 */
let minio: MinioServer | undefined;
const archivePrefix = "launchbay/";

interface SandboxObject {
  metadata: { name: string; creationTimestamp: string };
  status?: { phase?: string; namespace?: string; readyAt?: string; message?: string };
}

const sandboxes: Record<"a" | "b", { name: string; namespace: string; readyMs: number }> = {
  a: { name: "attendee-a", namespace: "", readyMs: 0 },
  b: { name: "attendee-b", namespace: "", readyMs: 0 },
};

/** Where probes start: a pod and (optionally) its container. */
type From = { namespace: string; pod: string; container?: string };
const from: Record<string, From> = {};
const target: Record<string, string> = {};
/** Ports only known once the run started (MinIO's, the API server's). */
const targetPort: Record<string, number> = {};

/** The matrix as aligned text lines: probe, result with enforcement, result without. */
function matrixTable(rows: { probe: string; enforced: string; unenforced?: string }[]): string {
  const width = Math.max(...rows.map((r) => r.probe.length));
  return rows
    .map(
      (r) =>
        `  ${r.probe.padEnd(width)}  ${r.enforced.padEnd(19)}  ${r.unenforced ?? "(allowed: not re-probed)"}`,
    )
    .join("\n");
}

async function podByComponent(
  namespace: string,
  component: string,
): Promise<{ name: string; ip: string }> {
  const pods = await podsIn(namespace, `app.kubernetes.io/component=${component}`);
  const pod = pods.find((p) => p.status.phase === "Running" && p.status.podIP);
  if (!pod) throw new Error(`no running ${component} pod in ${namespace}`);
  return { name: pod.metadata.name, ip: pod.status.podIP as string };
}

describe.skipIf(provided.skipped !== undefined).sequential("launchbay on real pods", () => {
  beforeAll(async () => {
    if (provided.skipped) return;
    images = await builtImages(cluster().valuesFile);
    ({ env, dispose: disposeHelm } = await helmEnv(cluster().kubeconfig));
    await createRestrictedNamespace(ns);
    minio = await startMinio({ host: realNode.bridgeAddress, prefix: archivePrefix });
  });

  afterAll(async () => {
    if (provided.skipped) return;
    await kubectl(["delete", "sandboxes", "--all", "-n", ns, "--wait=true", "--timeout=60s"]);
    await helm(["uninstall", release, "-n", ns, "--no-hooks", "--wait"], env);
    await kubectl(["delete", "namespace", ns, otherNs, outsideNs, "--wait=false"]);
    await disposeValues?.();
    await disposeHelm?.();
    await minio?.stop();
  });

  it("helm install (archives on, to MinIO on this machine): the operator and the launcher run as containers on the real node, under Pod Security restricted", async () => {
    const { server, valuesFile: imageValues, nodeName } = cluster();
    const store = (minio as MinioServer).store;
    const install = await installChart({
      release,
      namespace: ns,
      server,
      imageValues,
      helmEnv: env,
      archive: {
        endpoint: (minio as MinioServer).endpoint,
        bucket: store.bucket,
        prefix: archivePrefix,
        accessKeyId: store.accessKeyId,
        secretAccessKey: store.secretAccessKey,
      },
    });
    disposeValues = install.dispose;
    const result = install.result;
    expect(result.stderr).not.toMatch(/would violate PodSecurity/);
    ok(result, "helm install");
    for (const component of ["operator", "launcher"]) {
      const pods = await podsIn(ns, `app.kubernetes.io/component=${component}`);
      expect(pods.length, component).toBe(1);
      const pod = pods[0] as (typeof pods)[number];
      expect(pod.spec.nodeName, component).toBe(nodeName);
      expect(pod.status.containerStatuses?.every((c) => c.ready && "running" in c.state)).toBe(
        true,
      );
    }
    const operatorPod = await getJson<{
      spec: { serviceAccountName: string; containers: { image: string }[] };
    }>("get", "pod", "-n", ns, (await podByComponent(ns, "operator")).name);
    expect(operatorPod.spec.serviceAccountName).toBe(`${release}-launchbay-operator`);
    expect(operatorPod.spec.containers[0]?.image).toBe(images.operator);
  });

  it("a Sandbox reaches Ready with scheduler, 3 workers and notebook as running containers under Pod Security restricted", async () => {
    const created = Date.now();
    await apply(
      Object.values(sandboxes).map((s) => ({
        apiVersion: "launchbay.dev/v1alpha1",
        kind: "Sandbox",
        metadata: { name: s.name, namespace: ns },
        spec: { workshop: "workshop", owner: s.name },
      })),
    );
    for (const s of Object.values(sandboxes)) {
      ok(
        await kubectl([
          "wait",
          "-n",
          ns,
          `sandbox/${s.name}`,
          "--for=jsonpath={.status.phase}=Ready",
          "--timeout=240s",
        ]),
        `sandbox ${s.name} Ready`,
      );
      s.readyMs = Date.now() - created;
      const sandbox = await getJson<SandboxObject>("get", "sandbox", s.name, "-n", ns);
      s.namespace = sandbox.status?.namespace ?? "";
    }
    console.info(
      `[real-node] sandbox create → Ready: ${sandboxes.a.readyMs} ms (a), ${sandboxes.b.readyMs} ms (b, created at the same time)`,
    );
    const namespace = sandboxes.a.namespace;
    const nsObject = await getJson<{ metadata: { labels: Record<string, string> } }>(
      "get",
      "namespace",
      namespace,
    );
    expect(nsObject.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    const pods = await podsIn(namespace);
    const byComponent = (c: string) =>
      pods.filter((p) => p.metadata.labels?.["app.kubernetes.io/component"] === c);
    expect(byComponent("scheduler").length).toBe(1);
    expect(byComponent("worker").length).toBe(3);
    expect(byComponent("notebook").length).toBe(1);
    for (const pod of pods) {
      expect(pod.spec.nodeName, pod.metadata.name).toBe(cluster().nodeName);
      expect(pod.status.phase, pod.metadata.name).toBe("Running");
      expect(
        pod.status.containerStatuses?.every((c) => c.ready && "running" in c.state),
        pod.metadata.name,
      ).toBe(true);
    }
  });

  it("kubectl logs shows the scheduler listening and the three workers registered", async () => {
    const namespace = sandboxes.a.namespace;
    const scheduler = await podByComponent(namespace, "scheduler");
    const schedulerLog = ok(
      await kubectl(["logs", "-n", namespace, scheduler.name]),
      "kubectl logs scheduler",
    );
    expect(schedulerLog).toContain("Scheduler listening");
    // The scheduler logs each worker it admits (after the token check).
    expect(schedulerLog.match(/Worker registered/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
  });

  // With the NetworkPolicies still enforced: the attendee's path through the launcher pod.
  describeLaunchInChromium(() => ({
    releaseNamespace: ns,
    launcherService: `${release}-launchbay-web`,
    archive: { store: (minio as MinioServer).store, prefix: archivePrefix },
  }));

  describe.sequential("the NetworkPolicy matrix, enforced by kube-router", () => {
    beforeAll(async () => {
      if (provided.skipped) return;
      const a = sandboxes.a.namespace;
      const b = sandboxes.b.namespace;
      ok(await kubectl(["create", "namespace", otherNs]), "create the other namespace");
      ok(await kubectl(["create", "namespace", outsideNs]), "create the outside namespace");
      await apply([
        nodePod({ name: "client", namespace: otherNs, image: images.worker, script: idleScript }),
        nodePod({ name: "unlabelled", namespace: ns, image: images.worker, script: idleScript }),
        nodePod({
          name: "internet",
          namespace: outsideNs,
          image: images.worker,
          script: listenScript,
        }),
      ]);
      await waitPodsReady(otherNs, ["client"]);
      await waitPodsReady(ns, ["unlabelled"]);
      await waitPodsReady(outsideNs, ["internet"]);
      const launcher = await podByComponent(ns, "launcher");
      from.launcher = { namespace: ns, pod: launcher.name };
      from.unlabelled = { namespace: ns, pod: "unlabelled" };
      from.otherNamespace = { namespace: otherNs, pod: "client" };
      from.otherSandbox = { namespace: b, pod: (await podByComponent(b, "worker")).name };
      from.sandbox = { namespace: a, pod: (await podByComponent(a, "worker")).name };
      from.notebook = {
        namespace: a,
        pod: (await podByComponent(a, "notebook")).name,
        container: "notebook",
      };
      target.storage = new URL((minio as MinioServer).endpoint).hostname;
      targetPort.storage = Number(new URL((minio as MinioServer).endpoint).port);
      targetPort.apiServer = Number(new URL(cluster().server).port);
      target.scheduler = (await podByComponent(a, "scheduler")).ip;
      target.notebook = (await podByComponent(a, "notebook")).ip;
      const workers = await podsIn(a, "app.kubernetes.io/component=worker");
      target.worker =
        workers.find((w) => w.metadata.name !== from.sandbox?.pod)?.status.podIP ?? "";
      target.internet = (await podsIn(outsideNs))[0]?.status.podIP ?? "";
    });

    /** Probes that the policies refuse; each must connect once enforcement is off. */
    const refused: { title: string; from: string; to: string; port: number | string }[] = [
      { title: "launcher → worker data port", from: "launcher", to: "worker", port: 8789 },
      { title: "unlabelled pod → scheduler", from: "unlabelled", to: "scheduler", port: 8786 },
      {
        title: "pod in another namespace → scheduler",
        from: "otherNamespace",
        to: "scheduler",
        port: 8786,
      },
      {
        title: "another attendee's sandbox → scheduler",
        from: "otherSandbox",
        to: "scheduler",
        port: 8786,
      },
      {
        title: "sandbox → the internet (a pod standing for it)",
        from: "sandbox",
        to: "internet",
        port: 8080,
      },
      {
        title: "sandbox → Kubernetes API (kubernetes.default Service)",
        from: "sandbox",
        to: "api",
        port: 443,
      },
      // archive.egress lets the notebook pod reach exactly MinIO's address and port.
      {
        title: "worker pod → the archive storage (MinIO on the node's address)",
        from: "sandbox",
        to: "storage",
        port: "storage",
      },
      {
        title: "notebook pod → the node's address on another port (the API server's)",
        from: "notebook",
        to: "storage",
        port: "apiServer",
      },
    ];
    const resolveTarget = (to: string) => (to === "api" ? "10.96.0.1" : (target[to] as string));
    const resolvePort = (port: number | string) =>
      typeof port === "number" ? port : (targetPort[port] as number);

    /** What each probe gave: with enforcement, and (refused ones) without it. */
    const matrix: { probe: string; enforced: string; unenforced?: string }[] = [];

    it("allows launcher → scheduler and notebook, worker → its own scheduler, DNS, and notebook → the archive storage", async () => {
      const launcher = from.launcher as From;
      const sandbox = from.sandbox as From;
      const schedulerName = `scheduler.${sandboxes.a.namespace}.svc.cluster.local`;
      const resolved = await probeDns(sandbox, schedulerName);
      matrix.push({ probe: "sandbox → cluster DNS (its scheduler's name)", enforced: resolved });
      expect(resolved).toMatch(/^10\.96\./);
      const allowed: [string, From, string, number][] = [
        ["launcher → scheduler", launcher, target.scheduler as string, 8786],
        ["launcher → notebook", launcher, target.notebook as string, 8888],
        ["worker → its own scheduler (by DNS name)", sandbox, schedulerName, 8786],
        ["worker → another worker's data port", sandbox, target.worker as string, 8789],
        [
          "notebook pod → the archive storage (MinIO on the node's address)",
          from.notebook as From,
          target.storage as string,
          targetPort.storage as number,
        ],
      ];
      for (const [probe, source, host, port] of allowed) {
        const result = await probeTcp(source, host, port);
        matrix.push({ probe, enforced: result });
        expect(result, probe).toBe("connected");
      }
    });

    for (const probe of refused) {
      it(`refuses ${probe.title}`, async () => {
        const result = await probeTcp(
          from[probe.from] as From,
          resolveTarget(probe.to),
          resolvePort(probe.port),
        );
        matrix.push({ probe: probe.title, enforced: result });
        expect(result, probe.title).not.toBe("connected");
      });
    }

    it("each refused probe connects once enforcement is off (kube-router stopped, its rules removed)", async () => {
      await disableNetworkPolicyEnforcement();
      const results: Record<string, string> = {};
      for (const probe of refused) {
        results[probe.title] = await probeTcp(
          from[probe.from] as From,
          resolveTarget(probe.to),
          resolvePort(probe.port),
        );
      }
      for (const row of matrix) row.unenforced = results[row.probe];
      console.info(
        `[real-node] the NetworkPolicy matrix (probe: enforced / without enforcement)\n${matrixTable(matrix)}`,
      );
      for (const probe of refused) expect(results[probe.title], probe.title).toBe("connected");
    });
  });

  it("deleting a Sandbox removes its namespace with nothing left but its owner's archive", async () => {
    const started = Date.now();
    for (const s of Object.values(sandboxes)) {
      ok(
        await kubectl(["delete", "sandbox", s.name, "-n", ns, "--wait=true", "--timeout=120s"]),
        "delete",
      );
    }
    for (const s of Object.values(sandboxes)) {
      const gone = await kubectl([
        "wait",
        "--for=delete",
        `namespace/${s.namespace}`,
        "--timeout=120s",
      ]);
      expect(gone.code, `${s.namespace}: ${gone.stderr}`).toBe(0);
      const left = await kubectl([
        "get",
        "namespace",
        s.namespace,
        "--ignore-not-found",
        "-o",
        "name",
      ]);
      expect(left.stdout.trim(), s.namespace).toBe("");
    }
    console.info(`[real-node] delete → namespaces gone: ${Date.now() - started} ms`);
    // Each notebook pod's archive container saved its owner's work on the way out.
    const { store } = minio as MinioServer;
    const s3 = new S3Client({
      endpoint: store.endpoint,
      region: store.region,
      forcePathStyle: true,
      credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    });
    try {
      for (const s of Object.values(sandboxes)) {
        const key = archiveKey(archivePrefix, { namespace: ns, workshop: "workshop" }, s.name);
        const head = await s3.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
        expect(head.ContentLength, s.name).toBeGreaterThan(0);
      }
    } finally {
      s3.destroy();
    }
  });
});
