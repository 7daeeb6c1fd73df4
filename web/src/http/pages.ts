import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";
import { SANDBOX_ID_PATTERN } from "../core/ids.js";
import { LauncherError } from "../errors.js";
import { type AppContext, identity, requireAccess } from "./context.js";
import type { HostPolicy } from "./host-policy.js";
import { ensureAttendee } from "./identity.js";
import {
  HANDOVER_PATH,
  type HandoverTarget,
  type SandboxCredentials,
} from "./sandbox-credentials.js";

/** web/static, from both src/http and dist/http. */
export const STATIC_DIR = fileURLToPath(new URL("../../static/", import.meta.url));

const ASSETS: Record<string, string> = {
  "style.css": "text/css; charset=utf-8",
  "launch.js": "text/javascript; charset=utf-8",
  "sandbox.js": "text/javascript; charset=utf-8",
  "admin.js": "text/javascript; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

const PAGES = [
  "launch.html",
  "sandbox.html",
  "admin.html",
  "login.html",
  "not-found.html",
] as const;
type Page = (typeof PAGES)[number];

/** Launcher pages must never be framed by others, never run inline script, never leak referrers. */
export const PAGE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join("; ");

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

function loadPages(): Record<Page, string> {
  return Object.fromEntries(
    PAGES.map((p) => [p, readFileSync(`${STATIC_DIR}${p}`, "utf8")]),
  ) as Record<Page, string>;
}

function render(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => escapeHtml(values[key] ?? ""));
}

function sendPage(reply: FastifyReply, html: string, status = 200): FastifyReply {
  return reply
    .code(status)
    .header("content-type", "text/html; charset=utf-8")
    .header("content-security-policy", PAGE_CSP)
    .header("cache-control", "no-store")
    .send(html);
}

/** The launch page, the sandbox page (countdown + notebook), the admin page and assets. */
export function registerPageRoutes(
  app: FastifyInstance,
  ctx: AppContext,
  hosts: HostPolicy,
  credentials: SandboxCredentials,
): void {
  const pages = loadPages();
  const assets = Object.fromEntries(
    Object.keys(ASSETS).map((name) => [name, readFileSync(`${STATIC_DIR}${name}`)]),
  );
  const title = ctx.config.workshop.title;

  app.get("/", async (request, reply) => {
    ensureAttendee(app, request, reply);
    return sendPage(reply, render(pages["launch.html"], { title }));
  });

  app.get("/s/:id/", async (request, reply) => {
    const { id } = request.params as { id: string };
    const who = await identity(app, ctx, request);
    const owner = SANDBOX_ID_PATTERN.test(id) ? ctx.service.ownerOf(id) : undefined;
    if (
      owner === undefined ||
      !(who.organiser || (who.attendee !== undefined && who.attendee === owner))
    ) {
      return sendPage(reply, render(pages["not-found.html"], { title }), 404);
    }
    return sendPage(reply, render(pages["sandbox.html"], { title, id }));
  });

  // Opens the sandbox's own origin: a one-time handover token in a redirect, which the
  // sandbox origin turns into its own cookie. The organiser may open an attendee's sandbox
  // too, and gets exactly the attendee's rights there (the credential names the owner).
  app.get("/s/:id/open/:target", async (request, reply) => {
    const { id, target } = request.params as { id: string; target: string };
    if (!SANDBOX_ID_PATTERN.test(id) || (target !== "notebook" && target !== "dashboard")) {
      throw new LauncherError("not-found", "nothing here: open notebook or dashboard");
    }
    await requireAccess(app, ctx, request, id);
    const owner = ctx.service.ownerOf(id);
    if (!owner) throw new LauncherError("not-found", "this sandbox has no attendee yet");
    const token = credentials.mintHandover(id, owner, target as HandoverTarget);
    const origin = hosts.sandboxOrigin(id, request.protocol, request.host);
    return reply
      .header("cache-control", "no-store")
      .header("referrer-policy", "no-referrer")
      .redirect(`${origin}${HANDOVER_PATH}?token=${encodeURIComponent(token)}`, 303);
  });

  app.get("/s/:id", async (request, reply) => {
    const { id } = request.params as { id: string };
    return reply.redirect(`/s/${encodeURIComponent(id)}/`, 302);
  });

  app.get("/admin", async (request, reply) => {
    const who = await identity(app, ctx, request);
    if (!who.organiser) {
      const wrong = (request.query as Record<string, unknown>).error === "wrong-token";
      return sendPage(
        reply,
        render(pages["login.html"], { title, error: wrong ? "That token is not right." : "" }),
        wrong ? 401 : 200,
      );
    }
    return sendPage(reply, render(pages["admin.html"], { title }));
  });

  app.get("/static/:name", async (request, reply) => {
    const { name } = request.params as { name: string };
    const type = ASSETS[name];
    const body = assets[name];
    if (!type || !body) return sendPage(reply, render(pages["not-found.html"], { title }), 404);
    return reply
      .header("content-type", type)
      .header("cache-control", "public, max-age=300")
      .send(body);
  });
}
