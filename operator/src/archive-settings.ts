import { S3Store } from "@launchbay/archive";
import { BLOCKED_EGRESS_CIDRS } from "./core/network-policies.js";
import type { SandboxArchiveDefaults } from "./core/operator-config.js";
import { OperatorError } from "./errors.js";
import type { OperatorOptions } from "./options.js";

/**
 * The object storage for attendees' work, from the operator's options; undefined when no
 * bucket is set (no archives). A bucket without both credentials is refused at start.
 */
export function archiveSettings(
  options: OperatorOptions,
): { store: S3Store; defaults: SandboxArchiveDefaults; sweepMs: number } | undefined {
  if (!options.archiveS3Bucket) return undefined;
  if (!options.archiveS3AccessKeyId || !options.archiveS3SecretAccessKey) {
    throw new OperatorError(
      "invalid-options",
      "--archive-s3-bucket needs LAUNCHBAY_ARCHIVE_S3_ACCESS_KEY_ID and LAUNCHBAY_ARCHIVE_S3_SECRET_ACCESS_KEY (the chart sets them from archive.s3.existingSecret)",
    );
  }
  const endpoint = options.archiveS3Endpoint ? new URL(options.archiveS3Endpoint) : undefined;
  const port =
    options.archiveEgressPort ??
    (endpoint?.port ? Number(endpoint.port) : endpoint?.protocol === "http:" ? 80 : 443);
  const store = new S3Store({
    ...(options.archiveS3Endpoint ? { endpoint: options.archiveS3Endpoint } : {}),
    region: options.archiveS3Region,
    bucket: options.archiveS3Bucket,
    prefix: options.archiveS3Prefix,
    accessKeyId: options.archiveS3AccessKeyId,
    secretAccessKey: options.archiveS3SecretAccessKey,
    forcePathStyle: options.archiveS3PathStyle,
  });
  return {
    store,
    sweepMs: options.archiveSweepSeconds * 1000,
    defaults: {
      egress: options.archiveEgressPeers ?? [
        { ipBlock: { cidr: "0.0.0.0/0", except: BLOCKED_EGRESS_CIDRS } },
      ],
      port,
      graceSeconds: options.archiveGraceSeconds,
    },
  };
}
