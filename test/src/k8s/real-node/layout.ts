import { homedir } from "node:os";
import { join } from "node:path";

/**
 * Where a real node keeps its files, and its network. One real node per machine: it uses
 * fixed host paths (/var/lib/kubelet, a named bridge, iptables chains), so these are
 * constants rather than options.
 */
export const realNode = {
  nodeName: "launchbay-node",
  /** The pod bridge and its address: the node IP, the pods' gateway, the API server's address. */
  bridge: "launchbay0",
  bridgeAddress: "10.88.0.1",
  podCidr: "10.88.0.0/16",
  /** The control plane's service range (its default) and cluster DNS address in it. */
  serviceCidr: "10.96.0.0/16",
  clusterDns: "10.96.0.10",
  /** Runtime state: configs, containerd's state and socket, logs, state.json. */
  runDir: "/run/launchbay-real-node",
  kubeletRootDir: "/var/lib/kubelet",
  /** The mangle-table chain that drops pod traffic heading off the machine. */
  egressChain: "LAUNCHBAY-NODE-EGRESS",
  /** Host sysctls the node's agents change; recorded at start, restored at tear-down. */
  sysctls: [
    "net.ipv4.ip_forward",
    "net.bridge.bridge-nf-call-iptables",
    "net.bridge.bridge-nf-call-ip6tables",
    "vm.overcommit_memory",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.conf.all.route_localnet",
    "net.netfilter.nf_conntrack_max",
  ],
} as const;

export interface RealNodePaths {
  runDir: string;
  stateFile: string;
  logsDir: string;
  containerdConfig: string;
  containerdState: string;
  containerdSocket: string;
  /** containerd's content and snapshots: kept between runs, so imported images stay (a cache). */
  containerdRoot: string;
  cniConfDir: string;
  cniIpamDir: string;
  kubeletConfig: string;
  kubeProxyConfig: string;
  corednsManifest: string;
}

export function realNodePaths(env: NodeJS.ProcessEnv = process.env): RealNodePaths {
  const runDir = realNode.runDir;
  const cache = env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay");
  return {
    runDir,
    stateFile: join(runDir, "state.json"),
    logsDir: join(runDir, "logs"),
    containerdConfig: join(runDir, "containerd.toml"),
    containerdState: join(runDir, "containerd"),
    containerdSocket: join(runDir, "containerd", "containerd.sock"),
    containerdRoot: join(cache, "real-node", "containerd"),
    cniConfDir: join(runDir, "cni", "net.d"),
    cniIpamDir: join(runDir, "cni", "ipam"),
    kubeletConfig: join(runDir, "kubelet.yaml"),
    kubeProxyConfig: join(runDir, "kube-proxy.yaml"),
    corednsManifest: join(runDir, "coredns.yaml"),
  };
}
