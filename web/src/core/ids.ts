import { randomBytes } from "node:crypto";

const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

/** Lower-case base32 of `bytes` random bytes. */
function randomBase32(bytes: number): string {
  const data = randomBytes(bytes);
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/**
 * A sandbox id: `sb-` + 20 base32 characters (100 random bits). Valid as a Kubernetes
 * object name and as a URL path segment; not guessable.
 */
export function newSandboxId(): string {
  return `sb-${randomBase32(13).slice(0, 20)}`;
}

/** An attendee id for the identity cookie (128 random bits). */
export function newAttendeeId(): string {
  return randomBytes(16).toString("base64url");
}

/** A token for a sandbox's runtime or notebook (192 random bits). */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

export const SANDBOX_ID_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
