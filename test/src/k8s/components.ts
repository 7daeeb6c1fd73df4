import { join } from "node:path";
import type { Pki } from "./certificates.js";
import type { Layout } from "./layout.js";

/** The issuer (and audience) of service-account tokens, as in a kubeadm cluster. */
export const serviceAccountIssuer = "https://kubernetes.default.svc.cluster.local";

function cert(pki: Pki, name: string): { cert: string; key: string } {
  const paths = pki.certs[name];
  if (!paths) throw new Error(`no certificate named ${name} was generated`);
  return paths;
}

/** etcd: single member, mutual TLS on loopback for clients and peers. */
export function etcdArgs(layout: Layout, pki: Pki): string[] {
  const tls = cert(pki, "etcd");
  const client = `https://127.0.0.1:${layout.ports.etcdClient}`;
  const peer = `https://127.0.0.1:${layout.ports.etcdPeer}`;
  return [
    "--name=launchbay",
    `--data-dir=${layout.etcdDataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=launchbay=${peer}`,
    `--cert-file=${tls.cert}`,
    `--key-file=${tls.key}`,
    "--client-cert-auth=true",
    `--trusted-ca-file=${pki.ca.cert}`,
    `--peer-cert-file=${tls.cert}`,
    `--peer-key-file=${tls.key}`,
    "--peer-client-cert-auth=true",
    `--peer-trusted-ca-file=${pki.ca.cert}`,
    // Test data: durability across power loss is not worth the fsync latency.
    "--unsafe-no-fsync=true",
    "--log-level=warn",
  ];
}

/** kube-apiserver: loopback only, client certificates, Node+RBAC, default admission (PodSecurity). */
export function apiserverArgs(
  layout: Layout,
  pki: Pki,
  serviceCidr: string,
  realNode = false,
): string[] {
  const serving = cert(pki, "apiserver");
  const etcdClient = cert(pki, "apiserver-etcd-client");
  const frontProxy = cert(pki, "front-proxy-client");
  return [
    `--etcd-servers=https://127.0.0.1:${layout.ports.etcdClient}`,
    `--etcd-cafile=${pki.ca.cert}`,
    `--etcd-certfile=${etcdClient.cert}`,
    `--etcd-keyfile=${etcdClient.key}`,
    `--bind-address=${layout.apiserverHost}`,
    `--advertise-address=${layout.apiserverHost}`,
    `--secure-port=${layout.ports.apiserver}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    `--client-ca-file=${pki.ca.cert}`,
    "--anonymous-auth=false",
    // Request-header (front proxy) authentication, as kubeadm sets it up: only the
    // certificate named front-proxy-client may assert users through these headers.
    `--requestheader-client-ca-file=${pki.ca.cert}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-username-headers=X-Remote-User",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    `--proxy-client-cert-file=${frontProxy.cert}`,
    `--proxy-client-key-file=${frontProxy.key}`,
    "--authorization-mode=Node,RBAC",
    // The default plugins (PodSecurity, ServiceAccount, LimitRanger, ResourceQuota, ...) stay on.
    "--enable-admission-plugins=NodeRestriction",
    // Privileged pods pass the API server itself, so Pod Security admission is what rejects them.
    "--allow-privileged=true",
    `--service-cluster-ip-range=${serviceCidr}`,
    `--service-account-issuer=${serviceAccountIssuer}`,
    `--service-account-key-file=${pki.serviceAccount.publicKey}`,
    `--service-account-signing-key-file=${pki.serviceAccount.privateKey}`,
    ...(realNode
      ? [
          // Pods reach the API server through the `kubernetes` Service (the bridge address).
          "--endpoint-reconciler-type=lease",
          `--kubelet-client-certificate=${cert(pki, "apiserver-kubelet-client").cert}`,
          `--kubelet-client-key=${cert(pki, "apiserver-kubelet-client").key}`,
          `--kubelet-certificate-authority=${pki.ca.cert}`,
          "--kubelet-preferred-address-types=InternalIP",
        ]
      : // 127.0.0.1 is not a valid Endpoints address, so the `kubernetes` Service gets none.
        ["--endpoint-reconciler-type=none"]),
    "--profiling=false",
    "--v=1",
  ];
}

/** kube-controller-manager: every built-in controller, each with its own service account. */
export function controllerManagerArgs(layout: Layout, pki: Pki): string[] {
  const serving = cert(pki, "controller-manager-serving");
  const kubeconfig = layout.componentKubeconfigs.controllerManager;
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${layout.ports.controllerManager}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    "--controllers=*",
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${pki.serviceAccount.privateKey}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    "--leader-elect=false",
    // A managed control plane (GKE) sizes these with the cluster; the defaults (20 QPS per
    // controller, 5 Deployment/ReplicaSet syncs) would make a 500-sandbox burst wait
    // minutes on the controller manager alone, not on anything launchbay does.
    "--kube-api-qps=200",
    "--kube-api-burst=400",
    "--concurrent-deployment-syncs=20",
    "--concurrent-replicaset-syncs=20",
    "--concurrent-namespace-syncs=20",
    "--concurrent-gc-syncs=40",
    "--profiling=false",
    "--v=1",
  ];
}

export function schedulerArgs(layout: Layout, pki: Pki): string[] {
  const serving = cert(pki, "scheduler-serving");
  const kubeconfig = layout.componentKubeconfigs.scheduler;
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${layout.ports.scheduler}`,
    `--tls-cert-file=${serving.cert}`,
    `--tls-private-key-file=${serving.key}`,
    "--leader-elect=false",
    "--profiling=false",
    "--v=1",
  ];
}

/** The annotation marking the nodes kwok plays the kubelet for. */
export const kwokNodeAnnotation = { key: "kwok.x-k8s.io/node", value: "fake" } as const;

export function kwokArgs(layout: Layout, stagesFile: string, podCidr: string): string[] {
  return [
    `--kubeconfig=${layout.componentKubeconfigs.kwok}`,
    `--config=${stagesFile}`,
    "--manage-all-nodes=false",
    `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation.key}=${kwokNodeAnnotation.value}`,
    `--cidr=${podCidr}`,
    "--node-lease-duration-seconds=40",
  ];
}

/** kwok would also read ~/.kwok/kwok.yaml; a private HOME keeps a user's file out. */
export function kwokEnv(layout: Layout): NodeJS.ProcessEnv {
  return { ...process.env, HOME: layout.kwokHome };
}

export function logFile(layout: Layout, component: string): string {
  return join(layout.logsDir, `${component}.log`);
}
