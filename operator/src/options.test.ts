import { describe, expect, it } from "vitest";
import { parseOptions } from "./options.js";

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
});
