import { join } from "node:path";

/** Where a control plane keeps its files, and the loopback ports it listens on. */
export interface Layout {
  dataDir: string;
  pkiDir: string;
  logsDir: string;
  etcdDataDir: string;
  kwokHome: string;
  /** The admin kubeconfig (system:masters). */
  kubeconfig: string;
  componentKubeconfigs: { controllerManager: string; scheduler: string; kwok: string };
  stateFile: string;
  /** The address the API server binds to (127.0.0.1, or a real node's bridge address). */
  apiserverHost: string;
  ports: {
    etcdClient: number;
    etcdPeer: number;
    apiserver: number;
    controllerManager: number;
    scheduler: number;
  };
}

export function layoutFor(
  dataDir: string,
  ports: Layout["ports"],
  apiserverHost = "127.0.0.1",
): Layout {
  return {
    dataDir,
    pkiDir: join(dataDir, "pki"),
    logsDir: join(dataDir, "logs"),
    etcdDataDir: join(dataDir, "etcd"),
    kwokHome: join(dataDir, "kwok-home"),
    kubeconfig: join(dataDir, "kubeconfig"),
    componentKubeconfigs: {
      controllerManager: join(dataDir, "controller-manager.kubeconfig"),
      scheduler: join(dataDir, "scheduler.kubeconfig"),
      kwok: join(dataDir, "kwok.kubeconfig"),
    },
    stateFile: join(dataDir, "state.json"),
    apiserverHost,
    ports,
  };
}

export function serverUrl(layout: Layout): string {
  return `https://${layout.apiserverHost}:${layout.ports.apiserver}`;
}

/** The first address of a service CIDR: the `kubernetes` Service's cluster IP. */
export function firstServiceIp(serviceCidr: string): string {
  const [address] = serviceCidr.split("/");
  const octets = (address ?? "").split(".").map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new Error(`service CIDR ${serviceCidr} is not an IPv4 CIDR`);
  }
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const first = value + 1;
  return [first >>> 24, (first >>> 16) & 255, (first >>> 8) & 255, first & 255].join(".");
}
