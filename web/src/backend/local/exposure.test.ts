import { describe, expect, it } from "vitest";
import { outermostClosedAncestor, planCovers } from "./exposure.js";
import { mountSteps } from "./jail.js";

const closed = new Set(["/root", "/root/.cache/launchbay/sandboxes", "/srv/private"]);
const mayEnter = (dir: string) => !closed.has(dir);

describe("a sandbox's view of closed directories", () => {
  it("finds the outermost directory other users cannot enter", () => {
    expect(outermostClosedAncestor("/root/.cache/launchbay/venv", mayEnter)).toBe("/root");
    expect(outermostClosedAncestor("/root/.cache/launchbay/sandboxes/sb-1", mayEnter)).toBe(
      "/root",
    );
    expect(outermostClosedAncestor("/opt/launchbay/venv", mayEnter)).toBeUndefined();
  });

  it("covers each closed directory once and mounts back only what the sandbox needs", () => {
    const covers = planCovers(
      [
        { path: "/root/.cache/launchbay/venv-1", writable: false },
        { path: "/root/.pyenv/versions/3.11.7", writable: false },
        { path: "/root/.cache/launchbay/sandboxes/sb-1", writable: true },
        { path: "/root/.pyenv/versions/3.11.7", writable: false },
        { path: "/usr/bin", writable: false },
        { path: "/srv/private/repo", writable: false },
      ],
      mayEnter,
    );
    expect(covers).toEqual([
      {
        dir: "/root",
        paths: [
          { path: "/root/.pyenv/versions/3.11.7", writable: false },
          { path: "/root/.cache/launchbay/venv-1", writable: false },
          { path: "/root/.cache/launchbay/sandboxes/sb-1", writable: true },
        ],
      },
      { dir: "/srv/private", paths: [{ path: "/srv/private/repo", writable: false }] },
    ]);
    expect(mountSteps(covers.slice(0, 1), "/tmp/stage")).toEqual([
      ["stage", "/root", "/tmp/stage"],
      ["tmpfs", "/root", "-"],
      ["ro", "/tmp/stage/.pyenv/versions/3.11.7", "/root/.pyenv/versions/3.11.7"],
      ["ro", "/tmp/stage/.cache/launchbay/venv-1", "/root/.cache/launchbay/venv-1"],
      ["rw", "/tmp/stage/.cache/launchbay/sandboxes/sb-1", "/root/.cache/launchbay/sandboxes/sb-1"],
      ["unstage", "/tmp/stage", "-"],
    ]);
  });

  it("needs no cover when everything is open to other users", () => {
    expect(planCovers([{ path: "/opt/launchbay/venv", writable: false }], mayEnter)).toEqual([]);
  });
});
