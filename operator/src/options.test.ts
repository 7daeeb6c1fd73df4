import { describe, expect, it } from "vitest";
import { parseOptions, usage } from "./options.js";

describe("operator options", () => {
  it("reads flags, falls back to env vars, and fills defaults", () => {
    const options = parseOptions(
      ["--kubeconfig", "/tmp/k", "--launcher-pod-labels", "app=web,tier=front"],
      { LAUNCHBAY_CONCURRENCY: "8" },
    );
    expect(options).toMatchObject({
      kubeconfig: "/tmp/k",
      concurrency: 8,
      launcherPodLabels: { app: "web", tier: "front" },
      healthHost: "127.0.0.1",
      leaderElect: true,
    });
  });

  it("names the flag that is wrong", () => {
    expect(() => parseOptions(["--concurrency", "0"], {})).toThrow(/--concurrency: .*>=1/);
    expect(() => parseOptions(["--launcher-pod-labels", "oops"], {})).toThrow(
      /'oops' is not key=value/,
    );
    expect(() => parseOptions(["--no-such-flag", "x"], {})).toThrow(
      /Unknown option '--no-such-flag'/,
    );
  });

  it("reads the sandbox placement defaults and refuses a typo in them", () => {
    const options = parseOptions(
      [
        "--sandbox-node-selector",
        "cloud.google.com/gke-nodepool=workshop",
        "--sandbox-tolerations",
        '[{"key":"workshop","operator":"Exists","effect":"NoSchedule"}]',
      ],
      { LAUNCHBAY_SANDBOX_PRIORITY_CLASS_NAME: "workshop" },
    );
    expect(options.sandboxNodeSelector).toEqual({ "cloud.google.com/gke-nodepool": "workshop" });
    expect(options.sandboxTolerations).toEqual([
      { key: "workshop", operator: "Exists", effect: "NoSchedule" },
    ]);
    expect(options.sandboxPriorityClassName).toBe("workshop");
    expect(() =>
      parseOptions(["--sandbox-tolerations", '[{"key":"workshop","effects":"NoSchedule"}]'], {}),
    ).toThrow(/--sandbox-tolerations: .*effects/);
    expect(() => parseOptions(["--sandbox-affinity", "{nope"], {})).toThrow(
      /--sandbox-affinity: not JSON/,
    );
  });

  it("shows every flag with its environment variable and default in --help", () => {
    const help = usage();
    expect(help).toMatch(
      /--concurrency VALUE +Sandboxes reconciled at once \(default 16\) \[env LAUNCHBAY_CONCURRENCY\]/,
    );
    expect(help).toContain("[env LAUNCHBAY_SANDBOX_TOLERATIONS]");
  });
});
