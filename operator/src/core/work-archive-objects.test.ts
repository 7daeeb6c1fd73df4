import { describe, expect, it } from "vitest";
import { desiredObjects } from "./desired-objects.js";
import { DEFAULT_SANDBOX_DEFAULTS, type SandboxDefaults } from "./operator-config.js";
import { planSandbox } from "./sandbox-plan.js";
import { observation, sandbox, workshop } from "./core.test-fixtures.js";

const ref = { namespace: "events", name: "alice", workshop: "pydata" };
const withArchive: SandboxDefaults = {
  ...DEFAULT_SANDBOX_DEFAULTS,
  archive: {
    egress: [{ ipBlock: { cidr: "203.0.113.10/32" } }],
    port: 443,
    graceSeconds: 45,
  },
};
// biome-ignore lint/suspicious/noExplicitAny: test reads deep into plain objects
type Any = any;

function objects(archive: boolean, defaults = withArchive) {
  return desiredObjects({
    ref,
    namespace: "sbx-alice-1",
    template: workshop().spec.sandbox,
    defaults,
    archive,
  }) as Any[];
}
const notebookPod = (list: Any[]) =>
  list.find((o) => o.kind === "Deployment" && o.metadata.name === "notebook").spec.template.spec;

describe("work archive objects", () => {
  it("adds an archive container beside the notebook that keeps the work volume, with the Secret optional", () => {
    const pod = notebookPod(objects(true));
    expect(pod.containers.map((c: Any) => c.name)).toEqual(["notebook", "work-archive"]);
    const archiver = pod.containers[1];
    expect(archiver.image).toBe(DEFAULT_SANDBOX_DEFAULTS.images.notebook);
    expect(archiver.command.slice(0, 2)).toEqual(["launchbay-work-archive", "keep"]);
    expect(archiver.volumeMounts).toContainEqual({ name: "work", mountPath: "/work" });
    expect(pod.volumes).toContainEqual({
      name: "archive-urls",
      secret: { secretName: "sandbox-archive", optional: true },
    });
    expect(pod.terminationGracePeriodSeconds).toBe(45);
    // The notebook container never mounts the URLs.
    expect(pod.containers[0].volumeMounts.map((m: Any) => m.name)).not.toContain("archive-urls");
  });

  it("lets only the notebook pod reach the storage endpoint, and counts the container in the quota", () => {
    const on = objects(true);
    const off = objects(false);
    const egress = on.find((o) => o.metadata.name === "allow-archive-egress");
    expect(egress.spec.podSelector.matchLabels).toEqual({
      "app.kubernetes.io/component": "notebook",
    });
    expect(egress.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: "203.0.113.10/32" } }], ports: [{ protocol: "TCP", port: 443 }] },
    ]);
    const quota = (list: Any[]) => list.find((o) => o.kind === "ResourceQuota").spec.hard;
    expect(quota(on)["requests.cpu"]).not.toBe(quota(off)["requests.cpu"]);
    expect(quota(on).pods).toBe(quota(off).pods);
  });

  it("control: without archives (or without storage configured) the pods are as before", () => {
    for (const list of [objects(false), objects(true, DEFAULT_SANDBOX_DEFAULTS)]) {
      const pod = notebookPod(list);
      expect(pod.containers.map((c: Any) => c.name)).toEqual(["notebook"]);
      expect(pod.terminationGracePeriodSeconds).toBe(3);
      expect(list.find((o) => o.metadata.name === "allow-archive-egress")).toBeUndefined();
    }
  });

  it("plans the archive Secret only for an owned sandbox of a workshop with a retention", () => {
    const owned = sandbox({}, { owner: "attendee-1" });
    const plan = (ws: Any, sb = owned) =>
      planSandbox(
        observation({
          sandbox: sb,
          workshop: { found: true, workshop: ws },
          defaults: withArchive,
          namespacePhase: "Active",
        }),
      );
    expect(plan(workshop()).archiveSecretIn).toBeDefined();
    expect(plan(workshop({ archiveRetentionDays: 0 })).archiveSecretIn).toBeUndefined();
    expect(plan(workshop(), sandbox({}, { owner: undefined })).archiveSecretIn).toBeUndefined();
  });
});
