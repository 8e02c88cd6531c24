/**
 * Opaque tokens: a small JSON object as base64url text (no padding), for
 * keyset cursors that users copy between commands but should not read or
 * build by hand (`convo query-overview --cursor`, `convo queue list --cursor`).
 * Each listing validates the decoded object's fields itself.
 *
 * @module
 */

const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Encodes a JSON object as base64url text (UTF-8, no padding).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeOpaque, encodeOpaque } from "./opaque.ts";
 * const text = encodeOpaque({ v: 1, i: "42" });
 * assert.match(text, /^[A-Za-z0-9_-]+$/);
 * assert.deepEqual(decodeOpaque(text), { v: 1, i: "42" });
 * ```
 */
export function encodeOpaque(value: Readonly<Record<string, unknown>>): string {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * Decodes a text made by {@link encodeOpaque}; `undefined` when it is not
 * base64url of a UTF-8 JSON object.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeOpaque } from "./opaque.ts";
 * assert.equal(decodeOpaque("nope!"), undefined);
 * assert.equal(decodeOpaque("WzFd"), undefined); // [1]: not an object
 * ```
 */
export function decodeOpaque(text: string): Record<string, unknown> | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") +
    "=".repeat((4 - text.length % 4) % 4);
  let json: string;
  try {
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    json = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}
