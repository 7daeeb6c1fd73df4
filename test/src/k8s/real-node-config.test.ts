import { describe, expect, it } from "vitest";
import { controlPlaneCertificates } from "./certificates.js";
import { apiserverArgs } from "./components.js";
import { layoutFor } from "./layout.js";
import { kwokNodeManifests, simulatedNodeTaint } from "./nodes.js";
import { parseControlPlaneOptions } from "./options.js";
import { splitRule } from "./real-node/host.js";
import { realNode, realNodePaths } from "./real-node/layout.js";
import {
  cniConfig,
  containerdConfig,
  corednsManifests,
  kubeletConfig,
} from "./real-node/node-configs.js";

/** The pure parts of the real node (`k8s:up -- --real-node`): what it asks of each component. */
describe("real node configuration", () => {
  const options = parseControlPlaneOptions({
    realNode: { address: realNode.bridgeAddress, nodeName: realNode.nodeName },
  });

  it("taints the kwok nodes beside a real node, and only then", () => {
    const tainted = kwokNodeManifests(options.nodes, true) as { spec: { taints?: unknown[] } }[];
    expect(tainted.every((n) => n.spec.taints?.[0] === simulatedNodeTaint)).toBe(true);
    const plain = kwokNodeManifests(options.nodes) as { spec: { taints?: unknown[] } }[];
    expect(plain.every((n) => n.spec.taints === undefined)).toBe(true);
  });

  it("binds the API server to the bridge address, with kubelet credentials and a lease reconciler", () => {
    const layout = layoutFor(
      "/d",
      { etcdClient: 1, etcdPeer: 2, apiserver: 3, controllerManager: 4, scheduler: 5 },
      realNode.bridgeAddress,
    );
    const certs = Object.fromEntries(
      controlPlaneCertificates("10.96.0.1", options.realNode).map((c) => [
        c.name,
        { cert: `${c.name}.crt`, key: `${c.name}.key` },
      ]),
    );
    const pki = {
      ca: { cert: "ca.crt", key: "ca.key" },
      serviceAccount: { privateKey: "sa.key", publicKey: "sa.pub" },
      certs,
    };
    const args = apiserverArgs(layout, pki, "10.96.0.0/16", true);
    expect(args).toContain(`--bind-address=${realNode.bridgeAddress}`);
    expect(args).toContain("--endpoint-reconciler-type=lease");
    expect(args).toContain("--kubelet-preferred-address-types=InternalIP");
    expect(args).toContain("--kubelet-client-certificate=apiserver-kubelet-client.crt");
    expect(apiserverArgs(layout, pki, "10.96.0.0/16")).toContain("--endpoint-reconciler-type=none");
    const kubelet = controlPlaneCertificates("10.96.0.1", options.realNode).find(
      (c) => c.name === "kubelet",
    );
    expect(kubelet).toMatchObject({
      commonName: `system:node:${realNode.nodeName}`,
      organization: "system:nodes",
    });
  });

  it("asks containerd and the kubelet for what this kind of host needs", () => {
    const paths = realNodePaths({ LAUNCHBAY_CACHE: "/c" });
    const toml = containerdConfig(paths, "localhost/launchbay/pause:x");
    expect(toml).toContain("restrict_oom_score_adj = true");
    expect(toml).toContain("SystemdCgroup = false");
    expect(toml).toContain('sandbox_image = "localhost/launchbay/pause:x"');
    expect(toml).toContain('root = "/c/real-node/containerd"');
    const kubelet = kubeletConfig(paths, { ca: "ca", servingCert: "c", servingKey: "k" });
    expect(kubelet).toMatchObject({
      cgroupDriver: "cgroupfs",
      failCgroupV1: false,
      imageGCHighThresholdPercent: 100,
      authentication: { anonymous: { enabled: false } },
      authorization: { mode: "Webhook" },
    });
    expect(cniConfig(paths)).toMatchObject({
      plugins: [{ type: "bridge", bridge: realNode.bridge, ipMasq: false }, { type: "portmap" }],
    });
  });

  it("runs CoreDNS on port 53 without root or capabilities, answering cluster.local only", () => {
    const objects = corednsManifests("localhost/launchbay/coredns:x") as {
      kind: string;
      data?: { Corefile: string };
      spec?: Record<string, unknown>;
    }[];
    const corefile = objects.find((o) => o.kind === "ConfigMap")?.data?.Corefile ?? "";
    expect(corefile).toMatch(/^\.:53 \{/);
    expect(corefile).not.toMatch(/forward/);
    const deployment = JSON.stringify(objects.find((o) => o.kind === "Deployment"));
    expect(deployment).toContain('"runAsNonRoot":true');
    expect(deployment).toContain('"drop":["ALL"]');
    expect(deployment).toContain('"net.ipv4.ip_unprivileged_port_start"');
  });

  it("splits iptables -S rules into arguments, keeping quoted comments whole", () => {
    expect(splitRule('-m comment --comment "kube-router netpol - ABC" -j KUBE-NWPLCY-ABC')).toEqual(
      ["-m", "comment", "--comment", "kube-router netpol - ABC", "-j", "KUBE-NWPLCY-ABC"],
    );
  });
});
