import { describe, expect, it } from "vitest";
import { defaultText, kebabFlag } from "./cli-help.js";
import { FLAGS, optionsSchema, parseOptions, usage } from "./options.js";

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

  it("shows every flag with its environment variable, default and meaning in --help", () => {
    const help = usage();
    expect(help).toMatch(
      /--concurrency VALUE +Sandboxes reconciled at once \(default 16\) \[env LAUNCHBAY_CONCURRENCY\]/,
    );
    const defaults = optionsSchema.parse({}) as Record<string, unknown>;
    for (const [name, { env, help: meaning }] of Object.entries(FLAGS)) {
      const line = help.split("\n").find((l) => l.startsWith(`  ${kebabFlag(name)} VALUE `));
      expect(line, name).toBeDefined();
      const shown = defaultText(defaults[name]) ?? FLAGS[name as keyof typeof FLAGS].unset;
      expect(shown, `${name} needs a default or an "unset" text`).toBeTruthy();
      expect(line).toMatch(/ {2}\S/);
      expect(line!.endsWith(`${meaning} (default ${shown}) [env ${env}]`)).toBe(true);
    }
    expect(help).toContain("(default none: the in-cluster config) [env KUBECONFIG]");
    expect(help).toContain("(default app.kubernetes.io/component=launcher)");
  });
});
