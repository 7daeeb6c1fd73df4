import { timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { IncomingMessage } from "node:http";
import { newAttendeeId } from "../core/ids.js";
import type { OrganiserSessionStore } from "./organiser-sessions.js";

declare module "fastify" {
  interface FastifyInstance {
    /** Live organiser sessions (decorated by buildApp). */
    organiserSessions: OrganiserSessionStore;
    /** The launcher's clock (decorated by buildApp). */
    launcherNow: () => number;
  }
}

/** The attendee's identity: a random id in a signed, HttpOnly, SameSite=Lax cookie. */
export const ATTENDEE_COOKIE = "lb_attendee";
/** Set after the organiser signs in at /admin/login: the signed id of a server-side session. */
export const ORGANISER_COOKIE = "lb_organiser";
const YEAR_SECONDS = 365 * 24 * 3600;

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Whether the request came in over TLS (directly, or via a trusted proxy). */
export function isSecure(request: FastifyRequest): boolean {
  return request.protocol === "https";
}

function readSigned(app: FastifyInstance, raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  const result = app.unsignCookie(raw);
  return result.valid && result.value ? result.value : undefined;
}

/** Whether the request carries a valid identity cookie already. */
export function hasAttendee(app: FastifyInstance, request: FastifyRequest): boolean {
  return readSigned(app, request.cookies[ATTENDEE_COOKIE]) !== undefined;
}

export interface Identity {
  attendee: string | undefined;
  organiser: boolean;
}

/** Reads identity from a Fastify request (cookies already parsed) and the bearer header. */
export function identityOf(
  app: FastifyInstance,
  request: FastifyRequest,
  organiserToken: string,
): Promise<Identity> {
  return identityFromCookies(
    app,
    request.cookies as Record<string, string | undefined>,
    request.headers.authorization,
    organiserToken,
  );
}

/** Reads identity from a raw request (WebSocket upgrades bypass Fastify's hooks). */
export function identityOfRaw(
  app: FastifyInstance,
  req: IncomingMessage,
  organiserToken: string,
): Promise<Identity> {
  const cookies = req.headers.cookie ? app.parseCookie(req.headers.cookie) : {};
  return identityFromCookies(app, cookies, req.headers.authorization, organiserToken);
}

async function identityFromCookies(
  app: FastifyInstance,
  cookies: Record<string, string | undefined>,
  authorization: string | undefined,
  organiserToken: string,
): Promise<Identity> {
  const attendee = readSigned(app, cookies[ATTENDEE_COOKIE]);
  const session = readSigned(app, cookies[ORGANISER_COOKIE]);
  let organiser =
    session !== undefined && (await app.organiserSessions.isValid(session, app.launcherNow()));
  if (!organiser && authorization?.startsWith("Bearer ")) {
    organiser = safeEqual(authorization.slice("Bearer ".length).trim(), organiserToken);
  }
  return { attendee, organiser };
}

/** Returns the attendee id, issuing a new identity cookie on first visit. */
export function ensureAttendee(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
): string {
  const existing = readSigned(app, request.cookies[ATTENDEE_COOKIE]);
  if (existing) return existing;
  const id = newAttendeeId();
  reply.setCookie(ATTENDEE_COOKIE, id, {
    path: "/",
    httpOnly: true,
    sameSite: "lax",
    secure: isSecure(request),
    signed: true,
    maxAge: YEAR_SECONDS,
  });
  // Later code in the same request (e.g. the launch) sees the new identity.
  request.cookies[ATTENDEE_COOKIE] = app.signCookie(id);
  return id;
}

/** Starts an organiser session and sets its cookie. */
export async function startOrganiserSession(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
  maxAgeSeconds: number,
): Promise<void> {
  const id = await app.organiserSessions.create(app.launcherNow());
  reply.setCookie(ORGANISER_COOKIE, id, {
    path: "/",
    httpOnly: true,
    sameSite: "strict",
    secure: isSecure(request),
    signed: true,
    maxAge: maxAgeSeconds,
  });
}

/** Ends the caller's organiser session (server-side, so a copied cookie dies too). */
export async function endOrganiserSession(
  app: FastifyInstance,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  const session = readSigned(app, request.cookies[ORGANISER_COOKIE]);
  if (session !== undefined) await app.organiserSessions.revoke(session);
  reply.clearCookie(ORGANISER_COOKIE, { path: "/" });
}
