import { describe, expect, it } from "vitest";
import { announceDashboard, dashboardUrl } from "./dashboard-link.js";

describe("dashboard link", () => {
  it("uses the sandbox's LAUNCHBAY_DASHBOARD_URL when set", () => {
    const env = { LAUNCHBAY_DASHBOARD_URL: "/s/sb-1/dashboard/" };
    expect(dashboardUrl("ws://scheduler:8786", "t0ken", env)).toBe("/s/sb-1/dashboard/");
  });

  it("puts the token in the link only for a scheduler on loopback", () => {
    expect(dashboardUrl("ws://127.0.0.1:8786", "t0ken", {})).toBe(
      "http://127.0.0.1:8786/dashboard/?token=t0ken",
    );
    expect(dashboardUrl("wss://cluster.example:443", "t0ken", {})).toBe(
      "https://cluster.example/dashboard/",
    );
    expect(dashboardUrl("ws://localhost:9000", undefined, {})).toBe(
      "http://localhost:9000/dashboard/",
    );
  });

  it("prints the URL on a terminal and nothing into a pipe or file", () => {
    let written = "";
    const sink = (isTTY: boolean) => ({ isTTY, write: (t: string) => (written += t) });
    expect(announceDashboard("http://127.0.0.1:1/dashboard/", sink(false))).toBe("none");
    expect(written).toBe("");
    expect(announceDashboard("http://127.0.0.1:1/dashboard/", sink(true))).toBe("terminal");
    expect(written).toBe("launchbay dashboard: http://127.0.0.1:1/dashboard/\n");
  });
});
