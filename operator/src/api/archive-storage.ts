import { z } from "zod";

/**
 * The object storage (S3 API) settings attendees' work is archived to, shared by the
 * operator's flags and the launcher's configuration (the same env vars on both).
 */
export const archiveS3OptionsShape = {
  archiveS3Bucket: z.string().min(3).max(63).optional(),
  archiveS3Endpoint: z.url({ protocol: /^https?$/ }).optional(),
  archiveS3Region: z.string().min(1).default("us-east-1"),
  archiveS3Prefix: z
    .string()
    .max(256)
    .regex(/^([^/].*\/)?$/, { message: "must be empty or end with / (and not start with /)" })
    .default("launchbay/"),
  archiveS3PathStyle: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true"),
  archiveS3AccessKeyId: z.string().min(1).optional(),
  archiveS3SecretAccessKey: z.string().min(1).optional(),
};
