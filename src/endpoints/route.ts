/**
 * Routing: which customer and provider an address belongs to, from
 * `endpoint_mappings`. Lookups are batched and cached for a short while
 * (mappings change rarely; a new mapping is seen within the TTL). Misses are not
 * cached, so an event arriving just after `convo endpoint add` is routed.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import type { Channel } from "../normalize/address.ts";
import type { EndpointKind } from "./types.ts";

/** An endpoint mapping of an address. */
export interface Route {
  /** endpoint_mappings.kind: sms, mms or email. */
  readonly kind: EndpointKind;
  /** The owning customer. */
  readonly customerId: bigint;
  /** The provider the address is served by. */
  readonly providerId: bigint;
}

/** Finds the mappings of addresses. */
export interface Router {
  /**
   * Loads the mappings of these addresses (normalized value by key) into the
   * cache; then {@link Router.routes} answers for them.
   */
  load(addresses: ReadonlyMap<bigint, string>): Promise<void>;
  /** The mappings of a loaded address (several kinds may map one number). */
  routes(key: bigint, value: string): readonly Route[];
}

interface Entry {
  value: string;
  routes: Route[];
  at: number;
}

/**
 * Makes a router over the database with a cache of `ttlMs` (default 30 s).
 */
export function createRouter(
  sql: Sql,
  options: { ttlMs?: number; now?: () => number; maxEntries?: number } = {},
): Router {
  const ttl = options.ttlMs ?? 30_000;
  const now = options.now ?? Date.now;
  const max = options.maxEntries ?? 100_000;
  const cache = new Map<bigint, Entry>();
  return {
    async load(addresses) {
      const t = now();
      const missing: string[] = [];
      for (const [key, value] of addresses) {
        const e = cache.get(key);
        if (!e || e.routes.length === 0 || t - e.at > ttl || e.value !== value) {
          missing.push(key.toString());
        }
      }
      if (missing.length === 0) return;
      const rows = await sql<
        {
          hash: bigint;
          normalized: string;
          kind: Route["kind"];
          customer_id: bigint;
          provider_id: bigint;
        }[]
      >`
        select hash, normalized, kind, customer_id, provider_id
        from endpoint_mappings where hash = any(${missing}::bigint[])
        order by hash, kind`;
      for (const k of missing) {
        const key = BigInt(k);
        cache.set(key, { value: addresses.get(key)!, routes: [], at: t });
      }
      for (const r of rows) {
        const e = cache.get(r.hash)!;
        // A mapping whose normalized text differs from the address is another
        // address with the same 64-bit key: never route by it.
        if (r.normalized !== e.value) continue;
        e.routes.push({ kind: r.kind, customerId: r.customer_id, providerId: r.provider_id });
      }
      if (cache.size > max) {
        for (const k of cache.keys()) {
          cache.delete(k);
          if (cache.size <= max / 2) break;
        }
      }
    },
    routes(key, value) {
      const e = cache.get(key);
      return e && e.value === value ? e.routes : [];
    },
  };
}

/**
 * The mapping of an address for a channel: email needs an `email` mapping; a
 * phone number prefers a mapping of the message's own kind (`sms` or `mms`) and
 * accepts the other (a number registered for SMS also receives MMS).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { pickRoute } from "./route.ts";
 * const sms = { kind: "sms" as const, customerId: 1n, providerId: 2n };
 * assert.equal(pickRoute([sms], "mms"), sms);
 * assert.equal(pickRoute([sms], "email"), undefined);
 * ```
 */
export function pickRoute(
  routes: readonly Route[],
  channel: Channel,
): Route | undefined {
  if (channel === "email") return routes.find((r) => r.kind === "email");
  return routes.find((r) => r.kind === channel) ??
    routes.find((r) => r.kind === "sms" || r.kind === "mms");
}
