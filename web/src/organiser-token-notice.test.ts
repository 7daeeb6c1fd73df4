import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { organiserTokenNotice } from "./organiser-token-notice.js";

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("organiser token notice", () => {
  it("shows a generated token on a terminal", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-token-"));
    const line = await organiserTokenNotice({
      token: "t0ken-0123456789abcdef",
      terminal: true,
      file: join(dir, "organiser-token"),
    });
    expect(line).toContain("t0ken-0123456789abcdef");
  });

  it("writes it to a 0600 file instead when stderr is a log, even over a readable file", async () => {
    dir = mkdtempSync(join(tmpdir(), "lb-token-"));
    const file = join(dir, "cache", "organiser-token");
    const line = await organiserTokenNotice({
      token: "first-0123456789abcdef",
      terminal: false,
      file,
    });
    expect(line).not.toContain("first-0123456789abcdef");
    expect(line).toContain(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    writeFileSync(file, "old", { mode: 0o644 });
    await organiserTokenNotice({ token: "second-0123456789abcdef", terminal: false, file });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, "utf8")).toBe("second-0123456789abcdef\n");
  });
});
