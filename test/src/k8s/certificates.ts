import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";

const run = promisify(execFile);

/** One key pair and certificate signed by the cluster CA. */
export interface CertificateSpec {
  /** File stem: <dir>/<name>.crt and <dir>/<name>.key. */
  name: string;
  commonName: string;
  organization?: string;
  usage: "server" | "client" | "server-and-client";
  dnsNames?: string[];
  ips?: string[];
}

export interface CertificatePaths {
  cert: string;
  key: string;
}

export interface Pki {
  ca: CertificatePaths;
  /** Service-account token signing key pair (RSA, PEM). */
  serviceAccount: { privateKey: string; publicKey: string };
  certs: Record<string, CertificatePaths>;
}

/** Certificates for every component of a single-machine control plane. */
export function controlPlaneCertificates(
  serviceClusterIp: string,
  realNode?: { address: string; nodeName: string },
): CertificateSpec[] {
  return [
    ...(realNode ? realNodeCertificates(realNode) : []),
    {
      name: "apiserver",
      commonName: "kube-apiserver",
      usage: "server",
      dnsNames: [
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
      ],
      ips: ["127.0.0.1", serviceClusterIp, ...(realNode ? [realNode.address] : [])],
    },
    {
      name: "controller-manager-serving",
      commonName: "kube-controller-manager",
      usage: "server",
      dnsNames: ["localhost"],
      ips: ["127.0.0.1"],
    },
    {
      name: "scheduler-serving",
      commonName: "kube-scheduler",
      usage: "server",
      dnsNames: ["localhost"],
      ips: ["127.0.0.1"],
    },
    {
      name: "etcd",
      commonName: "etcd",
      usage: "server-and-client",
      dnsNames: ["localhost"],
      ips: ["127.0.0.1"],
    },
    { name: "apiserver-etcd-client", commonName: "kube-apiserver-etcd-client", usage: "client" },
    // The API server's identity towards aggregated API servers (request-header authentication).
    { name: "front-proxy-client", commonName: "front-proxy-client", usage: "client" },
    {
      name: "admin",
      commonName: "kubernetes-admin",
      organization: "system:masters",
      usage: "client",
    },
    { name: "controller-manager", commonName: "system:kube-controller-manager", usage: "client" },
    { name: "scheduler", commonName: "system:kube-scheduler", usage: "client" },
    // kwok plays every node's kubelet; like kwokctl, it runs with cluster-admin rights.
    {
      name: "kwok",
      commonName: "kwok-controller",
      organization: "system:masters",
      usage: "client",
    },
  ];
}

/** Identities of a real node's agents, and of the API server towards its kubelet. */
function realNodeCertificates(node: { address: string; nodeName: string }): CertificateSpec[] {
  return [
    // The Node authorizer and NodeRestriction know a kubelet by this name and group.
    {
      name: "kubelet",
      commonName: `system:node:${node.nodeName}`,
      organization: "system:nodes",
      usage: "client",
    },
    {
      name: "kubelet-serving",
      commonName: node.nodeName,
      usage: "server",
      dnsNames: [node.nodeName],
      ips: [node.address],
    },
    // kubectl logs/exec: the API server calls the kubelet with this identity.
    {
      name: "apiserver-kubelet-client",
      commonName: "kube-apiserver-kubelet-client",
      organization: "system:masters",
      usage: "client",
    },
    // Bound to the system:node-proxier ClusterRole by default.
    { name: "kube-proxy", commonName: "system:kube-proxy", usage: "client" },
    // The NetworkPolicy engine reads pods, namespaces, policies and nodes cluster-wide.
    {
      name: "kube-router",
      commonName: "kube-router",
      organization: "system:masters",
      usage: "client",
    },
  ];
}

/** Creates a CA, the given certificates and a service-account key pair in dir, using openssl. */
export async function generatePki(dir: string, specs: CertificateSpec[]): Promise<Pki> {
  await ensureOpenssl();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ca = { cert: join(dir, "ca.crt"), key: join(dir, "ca.key") };
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    ca.key,
    "-out",
    ca.cert,
    "-days",
    "365",
    "-subj",
    "/CN=launchbay-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const certs: Record<string, CertificatePaths> = {};
  for (const spec of specs) {
    certs[spec.name] = await issue(dir, ca, spec);
  }
  const serviceAccount = { privateKey: join(dir, "sa.key"), publicKey: join(dir, "sa.pub") };
  await openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    serviceAccount.privateKey,
  ]);
  await openssl([
    "pkey",
    "-in",
    serviceAccount.privateKey,
    "-pubout",
    "-out",
    serviceAccount.publicKey,
  ]);
  return { ca, serviceAccount, certs };
}

async function issue(
  dir: string,
  ca: CertificatePaths,
  spec: CertificateSpec,
): Promise<CertificatePaths> {
  const paths = { cert: join(dir, `${spec.name}.crt`), key: join(dir, `${spec.name}.key`) };
  const csr = join(dir, `${spec.name}.csr`);
  const extFile = join(dir, `${spec.name}.ext`);
  const subject = `${spec.organization ? `/O=${spec.organization}` : ""}/CN=${spec.commonName}`;
  await openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    paths.key,
    "-out",
    csr,
    "-subj",
    subject,
  ]);
  await writeFile(extFile, extensions(spec));
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    `0x${randomBytes(16).toString("hex")}`,
    "-days",
    "365",
    "-extfile",
    extFile,
    "-out",
    paths.cert,
  ]);
  await rm(csr);
  await rm(extFile);
  return paths;
}

/** The x509v3 extensions of a leaf certificate, as an openssl -extfile. */
export function extensions(spec: CertificateSpec): string {
  const extendedUsage = {
    server: "serverAuth",
    client: "clientAuth",
    "server-and-client": "serverAuth,clientAuth",
  }[spec.usage];
  const lines = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${extendedUsage}`,
  ];
  const alt = [
    ...(spec.dnsNames ?? []).map((d) => `DNS:${d}`),
    ...(spec.ips ?? []).map((ip) => `IP:${ip}`),
  ];
  if (alt.length > 0) lines.push(`subjectAltName=${alt.join(",")}`);
  return `${lines.join("\n")}\n`;
}

async function ensureOpenssl(): Promise<void> {
  try {
    await run("openssl", ["version"]);
  } catch (error) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.HostProgramMissing,
      "openssl is not installed; the control plane needs it to create certificates (Debian: apt-get install openssl)",
      { cause: error },
    );
  }
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: error });
  }
}

/** Reads a PEM file as base64, the form kubeconfig *-data fields take. */
export async function base64File(path: string): Promise<string> {
  return (await readFile(path)).toString("base64");
}
