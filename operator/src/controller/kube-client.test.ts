import { describe, expect, it } from "vitest";
import { resourceOfPath } from "./kube-client.js";

describe("resourceOfPath", () => {
  it("names the resource (and subresource) of an API path", () => {
    expect(resourceOfPath("/api/v1/namespaces/a/pods")).toBe("pods");
    expect(resourceOfPath("/api/v1/namespaces/sbx-1")).toBe("namespaces");
    expect(resourceOfPath("/api/v1/namespaces")).toBe("namespaces");
    expect(resourceOfPath("/apis/apps/v1/namespaces/a/deployments/workers")).toBe("deployments");
    expect(resourceOfPath("/apis/launchbay.dev/v1alpha1/namespaces/e/sandboxes/s/status")).toBe(
      "sandboxes/status",
    );
    expect(resourceOfPath("/apis/apps/v1/deployments?watch=1")).toBe("deployments");
  });
});
