import { createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ArchiveError } from "./errors.js";

/** Where archives are kept: any S3-compatible service (AWS S3, GCS's XML API, MinIO). */
export interface S3StoreOptions {
  /** e.g. https://storage.googleapis.com; unset: AWS S3 of `region`. */
  endpoint?: string;
  region: string;
  bucket: string;
  /** Key prefix, e.g. `launchbay/` (empty: the bucket's root). */
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Path-style URLs (`<endpoint>/<bucket>/<key>`): MinIO and most self-hosted servers. */
  forcePathStyle: boolean;
}

export interface StoredArchive {
  key: string;
  lastModified: Date;
  size: number;
}

/** SigV4 presigned URLs are valid for at most 7 days. */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

/** The one S3 client the operator and the launcher use for archives. */
export class S3Store {
  private readonly client: S3Client;

  constructor(readonly options: S3StoreOptions) {
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      credentials: {
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
      },
      // GCS's S3-compatible API rejects the SDK's default CRC32 checksums on PUT.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    });
  }

  get prefix(): string {
    return this.options.prefix;
  }

  /** A URL that PUTs exactly `key` (any body), valid for `seconds` (≤ 7 days). */
  presignPut(key: string, seconds: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key }),
      { expiresIn: clampSeconds(seconds) },
    );
  }

  /** A URL that GETs exactly `key`, valid for `seconds` (≤ 7 days). */
  presignGet(key: string, seconds: number): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
      { expiresIn: clampSeconds(seconds) },
    );
  }

  /** The object's date and size; undefined when there is none. */
  async head(key: string): Promise<StoredArchive | undefined> {
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }),
      );
      return { key, lastModified: out.LastModified ?? new Date(0), size: out.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw transferError(`could not look up ${key}`, error);
    }
  }

  /** Writes the object to `file`; false when there is none. */
  async download(key: string, file: string): Promise<boolean> {
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: key }),
      );
      await pipeline(out.Body as Readable, createWriteStream(file, { mode: 0o600 }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw transferError(`could not download ${key}`, error);
    }
  }

  /** Every object under `prefix`. */
  async list(prefix: string): Promise<StoredArchive[]> {
    const found: StoredArchive[] = [];
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.options.bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of out.Contents ?? []) {
        if (o.Key) {
          found.push({
            key: o.Key,
            lastModified: o.LastModified ?? new Date(0),
            size: o.Size ?? 0,
          });
        }
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  /** Deletes the objects (up to 1,000 per request). */
  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const out = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      if (out.Errors?.length) {
        throw new ArchiveError(
          "transfer-failed",
          `could not delete ${out.Errors.length} archive(s): ${out.Errors[0]?.Message ?? "unknown"}`,
        );
      }
    }
  }

  destroy(): void {
    this.client.destroy();
  }
}

function clampSeconds(seconds: number): number {
  return Math.max(1, Math.min(MAX_PRESIGN_SECONDS, Math.floor(seconds)));
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
}

function transferError(what: string, error: unknown): ArchiveError {
  return new ArchiveError("transfer-failed", `${what}: ${(error as Error).message}`, {
    cause: error,
  });
}
