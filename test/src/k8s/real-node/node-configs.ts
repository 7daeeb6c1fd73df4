import { realNode, type RealNodePaths } from "./layout.js";

/**
 * containerd 1.6 (Debian's): its own state, socket and root, the CRI plugin with cgroupfs
 * (cgroup v1, no systemd), the local pause image, and restrict_oom_score_adj — in a VM
 * without CAP_SYS_RESOURCE the CRI's oom_score_adj of -998 for pod sandboxes would make
 * runc fail ("can't get final child's PID from pipe").
 */
export function containerdConfig(paths: RealNodePaths, pauseImage: string): string {
  return `version = 2
root = "${paths.containerdRoot}"
state = "${paths.containerdState}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]

[grpc]
  address = "${paths.containerdSocket}"

[ttrpc]
  address = "${paths.containerdSocket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${pauseImage}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${paths.cniConfDir}"
`;
}

/** The pod network: Debian's CNI bridge on the bridge the node created first, no NAT. */
export function cniConfig(paths: RealNodePaths): object {
  return {
    cniVersion: "1.0.0",
    name: "launchbay-pods",
    plugins: [
      {
        type: "bridge",
        bridge: realNode.bridge,
        isGateway: true,
        // No masquerading: pod traffic has nowhere to go but this machine.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: realNode.podCidr, gateway: realNode.bridgeAddress }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: paths.cniIpamDir,
        },
      },
      { type: "portmap", capabilities: { portMappings: true } },
    ],
  };
}

/**
 * The kubelet: cgroupfs on cgroup v1 (failCgroupV1: false), certificate authentication and
 * webhook authorization, and image garbage collection off — imported images cannot be
 * pulled again. JSON is YAML.
 */
export function kubeletConfig(
  paths: RealNodePaths,
  pki: { ca: string; servingCert: string; servingKey: string },
): object {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: realNode.bridgeAddress,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    tlsCertFile: pki.servingCert,
    tlsPrivateKeyFile: pki.servingKey,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: pki.ca },
    },
    authorization: { mode: "Webhook" },
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    containerRuntimeEndpoint: `unix://${paths.containerdSocket}`,
    clusterDNS: [realNode.clusterDns],
    clusterDomain: "cluster.local",
    resolvConf: "/etc/resolv.conf",
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    imageMinimumGCAge: "87600h",
    evictionHard: {
      "memory.available": "100Mi",
      "nodefs.available": "1%",
      "nodefs.inodesFree": "1%",
      "imagefs.available": "1%",
    },
    failSwapOn: false,
    serializeImagePulls: false,
    maxPods: 110,
    rotateCertificates: false,
    serverTLSBootstrap: false,
  };
}

export function kubeProxyConfig(kubeconfig: string): object {
  return {
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig },
    mode: "iptables",
    clusterCIDR: realNode.podCidr,
    hostnameOverride: realNode.nodeName,
    bindAddress: realNode.bridgeAddress,
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    // Node ports only on the bridge address (no route_localnet for 127.0.0.1 node ports).
    nodePortAddresses: [`${realNode.bridgeAddress}/32`],
    // Leave the host's conntrack table size and timeouts alone.
    conntrack: {
      maxPerCore: 0,
      min: 0,
      tcpEstablishedTimeout: "0s",
      tcpCloseWaitTimeout: "0s",
    },
  };
}

/** kube-router as the NetworkPolicy engine only (no routing, no service proxy, no CNI). */
export function kubeRouterArgs(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    "--run-firewall=true",
    "--run-router=false",
    "--run-service-proxy=false",
    "--enable-cni=false",
    "--enable-ipv4=true",
    "--enable-ipv6=false",
    `--hostname-override=${realNode.nodeName}`,
    "--health-port=0",
    "--metrics-port=0",
    "--v=1",
  ];
}

export function kubeletArgs(paths: RealNodePaths, kubeconfig: string): string[] {
  return [
    `--config=${paths.kubeletConfig}`,
    `--kubeconfig=${kubeconfig}`,
    `--hostname-override=${realNode.nodeName}`,
    `--node-ip=${realNode.bridgeAddress}`,
    `--root-dir=${realNode.kubeletRootDir}`,
    "--node-labels=launchbay.dev/test-node=real",
    "--v=1",
  ];
}

/**
 * Cluster DNS: CoreDNS as a pod (non-root, read-only root, no capabilities). It listens on
 * port 53 itself — NetworkPolicies allowing DNS name port 53 of the DNS pods — which a
 * non-root process may bind thanks to the pod's (namespaced, "safe") sysctl
 * net.ipv4.ip_unprivileged_port_start=0. It answers for cluster.local only and forwards
 * nothing, so no query leaves the machine.
 */
export function corednsManifests(image: string): object[] {
  const labels = { "k8s-app": "kube-dns" };
  const ns = "kube-system";
  const corefile = `.:53 {
    errors
    health :8080
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
    }
    cache 30
    loadbalance
}
`;
  return [
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "coredns", namespace: ns } },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: "launchbay:coredns" },
      rules: [
        {
          apiGroups: [""],
          resources: ["endpoints", "services", "pods", "namespaces"],
          verbs: ["list", "watch"],
        },
        {
          apiGroups: ["discovery.k8s.io"],
          resources: ["endpointslices"],
          verbs: ["list", "watch"],
        },
      ],
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: "launchbay:coredns" },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "launchbay:coredns",
      },
      subjects: [{ kind: "ServiceAccount", name: "coredns", namespace: ns }],
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "coredns", namespace: ns },
      data: { Corefile: corefile },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "coredns", namespace: ns, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: "coredns",
            dnsPolicy: "Default",
            priorityClassName: "system-cluster-critical",
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65534,
              runAsGroup: 65534,
              seccompProfile: { type: "RuntimeDefault" },
              sysctls: [{ name: "net.ipv4.ip_unprivileged_port_start", value: "0" }],
            },
            containers: [
              {
                name: "coredns",
                image,
                imagePullPolicy: "Never",
                args: ["-conf", "/etc/coredns/Corefile"],
                ports: [
                  { name: "dns", containerPort: 53, protocol: "UDP" },
                  { name: "dns-tcp", containerPort: 53, protocol: "TCP" },
                ],
                readinessProbe: { httpGet: { path: "/ready", port: 8181 }, periodSeconds: 2 },
                livenessProbe: { httpGet: { path: "/health", port: 8080 }, periodSeconds: 10 },
                resources: {
                  requests: { cpu: "10m", memory: "32Mi" },
                  limits: { memory: "128Mi" },
                },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ["ALL"] },
                },
                volumeMounts: [{ name: "config", mountPath: "/etc/coredns", readOnly: true }],
              },
            ],
            volumes: [{ name: "config", configMap: { name: "coredns" } }],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "kube-dns", namespace: ns, labels },
      spec: {
        clusterIP: realNode.clusterDns,
        selector: labels,
        ports: [
          { name: "dns", port: 53, targetPort: 53, protocol: "UDP" },
          { name: "dns-tcp", port: 53, targetPort: 53, protocol: "TCP" },
        ],
      },
    },
  ];
}
