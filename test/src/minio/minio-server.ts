import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { S3StoreOptions } from "@launchbay/archive";

/** test/k8s/build-minio.sh, from both test/src/minio (vitest) and test/dist/minio. */
const buildScript = fileURLToPath(new URL("../../k8s/build-minio.sh", import.meta.url));

/** A MinIO server on 127.0.0.1 or a given host address (random port, temporary data folder) with one bucket. */
export interface MinioServer {
  endpoint: string;
  /** Store options for the bucket, with the root credentials. */
  store: S3StoreOptions;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/**
 * The operator's archive settings (environment) for this MinIO's bucket under `prefix`,
 * with the storage reached on loopback (the NetworkPolicy peer kwok pods would get).
 */
export function operatorArchiveEnv(minio: MinioServer, prefix: string): Record<string, string> {
  return {
    LAUNCHBAY_ARCHIVE_S3_BUCKET: minio.store.bucket,
    LAUNCHBAY_ARCHIVE_S3_ENDPOINT: minio.endpoint,
    LAUNCHBAY_ARCHIVE_S3_REGION: minio.store.region,
    LAUNCHBAY_ARCHIVE_S3_PREFIX: prefix,
    LAUNCHBAY_ARCHIVE_S3_PATH_STYLE: "true",
    LAUNCHBAY_ARCHIVE_S3_ACCESS_KEY_ID: minio.store.accessKeyId,
    LAUNCHBAY_ARCHIVE_S3_SECRET_ACCESS_KEY: minio.store.secretAccessKey,
    LAUNCHBAY_ARCHIVE_EGRESS_PEERS: JSON.stringify([{ ipBlock: { cidr: "127.0.0.1/32" } }]),
  };
}

/** The MinIO binary test/k8s/build-minio.sh built ($LAUNCHBAY_MINIO overrides). */
export async function findMinio(): Promise<string> {
  if (process.env.LAUNCHBAY_MINIO) return process.env.LAUNCHBAY_MINIO;
  try {
    const { stdout } = await promisify(execFile)("bash", [buildScript, "--print-dir"]);
    return join(stdout.trim(), "minio");
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(stderr || "MinIO is not built: run `bash scripts/setup.sh minio`", {
      cause: error,
    });
  }
}

/**
 * Starts MinIO with `--address <host>:0` (host: 127.0.0.1 unless given, e.g. the real
 * node's pod bridge address) and learns its port from the line it prints
 * ("API: http://<host>:<port>"), so no port is picked and then raced for; then creates
 * the bucket. Fails with MinIO's output if it exits first.
 */
export async function startMinio(
  options: { bucket?: string; prefix?: string; host?: string } = {},
): Promise<MinioServer> {
  const host = options.host ?? "127.0.0.1";
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    throw new Error(`startMinio: host must be an IPv4 address, got "${host}"`);
  }
  const binary = await findMinio();
  const dataDir = await mkdtemp(join(tmpdir(), "launchbay-minio-"));
  const accessKeyId = `test-${randomBytes(6).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const child: ChildProcess = spawn(
    binary,
    [
      "server",
      join(dataDir, "data"),
      "--address",
      `${host}:0`,
      "--console-address",
      `${host}:0`,
      "--quiet",
      "--json",
    ],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: dataDir,
        MINIO_ROOT_USER: accessKeyId,
        MINIO_ROOT_PASSWORD: secretAccessKey,
        MINIO_BROWSER: "off",
        MINIO_UPDATE: "off",
        MINIO_CI_CD: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  const exited = new Promise<never>((_, reject) => {
    child.once("exit", (code, signal) =>
      reject(
        new Error(`MinIO exited (${signal ?? code}) before it was ready:\n${output.slice(-2000)}`),
      ),
    );
    child.once("error", (error) => reject(new Error(`MinIO could not start: ${error.message}`)));
  });
  const listening = new Promise<string>((resolve) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = new RegExp(`https?://${host.replaceAll(".", "\\.")}:(\\d+)`).exec(output);
      if (match) resolve(`http://${host}:${match[1]}`);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await gone;
    }
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const endpoint = await Promise.race([listening, exited]);
    const bucket = options.bucket ?? "launchbay-archives";
    const store: S3StoreOptions = {
      endpoint,
      region: "us-east-1",
      bucket,
      prefix: options.prefix ?? "archives/",
      accessKeyId,
      secretAccessKey,
      forcePathStyle: true,
    };
    const client = new S3Client({
      endpoint,
      region: store.region,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    try {
      await Promise.race([client.send(new CreateBucketCommand({ Bucket: bucket })), exited]);
    } finally {
      client.destroy();
    }
    exited.catch(() => undefined);
    return { endpoint, store, stop };
  } catch (error) {
    exited.catch(() => undefined);
    await stop();
    throw error;
  }
}
