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

/**
 * Finds the mappings of addresses, by normalized value (never by 64-bit key: a
 * value stored under a fallback key after a collision routes all the same).
 */
export interface Router {
  /** Loads the mappings of these normalized addresses into the cache; then {@link Router.routes} answers for them. */
  load(values: Iterable<string>): Promise<void>;
  /** The mappings of a loaded address (several kinds may map one number). */
  routes(value: string): readonly Route[];
}

interface Entry {
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
  const cache = new Map<string, Entry>();
  return {
    async load(values) {
      const t = now();
      const missing = new Set<string>();
      for (const value of values) {
        const e = cache.get(value);
        if (!e || e.routes.length === 0 || t - e.at > ttl) missing.add(value);
      }
      if (missing.size === 0) return;
      const list = [...missing];
      // (kind, normalized) is unique: an index scan of endpoint_mappings_kind_normalized_key.
      const rows = await sql<
        { normalized: string; kind: Route["kind"]; customer_id: bigint; provider_id: bigint }[]
      >`
        select normalized, kind, customer_id, provider_id
        from endpoint_mappings
        where kind = any('{sms,mms,email}'::text[]) and normalized = any(${list}::text[])
        order by normalized, kind`;
      for (const value of list) cache.set(value, { routes: [], at: t });
      for (const r of rows) {
        cache.get(r.normalized)!.routes.push({
          kind: r.kind,
          customerId: r.customer_id,
          providerId: r.provider_id,
        });
      }
      if (cache.size > max) {
        for (const k of cache.keys()) {
          cache.delete(k);
          if (cache.size <= max / 2) break;
        }
      }
    },
    routes(value) {
      return cache.get(value)?.routes ?? [];
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
