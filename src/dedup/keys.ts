/**
 * Keys when hash64 collides. A dedup row's id is `hash64` of its normalized
 * value, and a conversation's `participants_key` the same of its participant
 * set; XXH64 with seed 0 is fast but forgeable, so a sender could pre-claim the
 * key of an address, body or URL not yet seen (or of a conversation). A value
 * whose key already holds another, committed value is stored under the first
 * free of its **fallback keys** instead: probe `i` (1 … {@link FALLBACK_PROBES})
 * is the first 8 bytes of HMAC-SHA256(database secret, `table \n i \n value`),
 * read as a signed 64-bit integer. The secret (`convo_key_secret`, made by the
 * migration) never leaves the database's worker role, so nobody can aim at a
 * fallback key.
 *
 * The rule every writer keeps: a value's id is the first of its candidates
 * (`hash64`, then the fallbacks in order) that holds it; a value is stored under
 * a fallback only when every earlier candidate holds another value that is
 * committed (or written by the same transaction). Rows are never deleted, so
 * the id a value once got stays its id, and every writer finds the same one.
 *
 * The common path pays nothing: keys are `hash64` unless a collision was seen,
 * and the {@link KeyRing} remembers the fallbacks it resolved.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { LruCache } from "../lru.ts";
import { hash64 } from "../normalize/hash.ts";

/** The dedup tables (id = the value's key). */
export type DedupTable =
  | "phone_numbers"
  | "email_addresses"
  | "xms_bodies"
  | "email_bodies"
  | "attachment_urls";

/** Fallback keys probed after `hash64` before a value is refused. */
export const FALLBACK_PROBES = 7;

/** A value whose key must be resolved. */
export interface KeyRequest {
  readonly table: DedupTable;
  /** The normalized value (an attachment URL as written). */
  readonly value: string;
}

/** Every candidate key of a value was taken by another value: cannot happen without the secret. */
export class KeysExhaustedError extends Error {
  /** Makes the error; `what` names the table (never the value). */
  constructor(what: string) {
    super(
      `64-bit key collision: ${what}: the key and all ${FALLBACK_PROBES} fallback keys hold other values`,
    );
    this.name = "KeysExhaustedError";
  }
}

const encoder = new TextEncoder();

async function loadSecret(sql: Sql): Promise<CryptoKey> {
  const [row] = await sql<{ secret: string }[]>`select secret from convo_key_secret where id`;
  if (!row) throw new Error("convo_key_secret is empty: run convo migrate up");
  return await crypto.subtle.importKey(
    "raw",
    encoder.encode(row.secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

async function fallbacks(secret: CryptoKey, domain: string, value: string): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 1; i <= FALLBACK_PROBES; i++) {
    const mac = await crypto.subtle.sign(
      "HMAC",
      secret,
      encoder.encode(`${domain}\n${i}\n${value}`),
    );
    out.push(new DataView(mac).getBigInt64(0));
  }
  return out;
}

/**
 * The candidate keys of a value in `domain` (a dedup table, or a conversation's
 * customer and channel): `first` (its `hash64`), then the fallbacks. Reads the
 * secret from the database (only ever after a collision).
 *
 * @example Usage
 * ```ts ignore
 * const [k0, k1] = await candidateKeys(tx, "phone_numbers", "+14155550100", hash64("+14155550100"));
 * ```
 */
export async function candidateKeys(
  sql: Sql,
  domain: string,
  value: string,
  first: bigint,
): Promise<bigint[]> {
  return [first, ...await fallbacks(await loadSecret(sql), domain, value)];
}

const s = (v: bigint) => v.toString();

/** The values stored under these ids, per table (committed rows, or the caller's transaction's). */
async function storedValues(
  sql: Sql,
  ids: ReadonlyMap<DedupTable, bigint[]>,
): Promise<Map<string, string>> {
  const of = (t: DedupTable) => (ids.get(t) ?? []).map(s);
  const rows = await sql<{ t: DedupTable; id: bigint; v: string }[]>`
    select 'phone_numbers' as t, id, e164 as v from phone_numbers
      where id = any(${of("phone_numbers")}::bigint[])
    union all
    select 'email_addresses', id, lowered from email_addresses
      where id = any(${of("email_addresses")}::bigint[])
    union all
    select 'xms_bodies', id, normalized from xms_bodies where id = any(${
    of("xms_bodies")
  }::bigint[])
    union all
    select 'email_bodies', id, normalized from email_bodies
      where id = any(${of("email_bodies")}::bigint[])
    union all
    select 'attachment_urls', id, raw from attachment_urls
      where id = any(${of("attachment_urls")}::bigint[])`;
  return new Map(rows.map((r) => [`${r.t}\n${r.id}`, r.v]));
}

/**
 * The keys of dedup values: `hash64`, unless {@link KeyRing.resolve} found the
 * value under (or due for) a fallback key. One per worker or command; it
 * remembers up to `capacity` fallbacks (each one a collision seen).
 */
export class KeyRing {
  readonly #sql: Sql;
  readonly #fallbacks: LruCache<string, bigint>;
  readonly #hash: (value: string) => bigint;

  /**
   * Makes a ring over a database, remembering up to `capacity` resolved
   * fallbacks. `hash` (default `hash64`) is a seam for tests: real XXH64
   * collisions cannot be found for a test, a hash that maps two values to one
   * key stands in for one.
   */
  constructor(
    sql: Sql,
    options: { capacity?: number; hash?: (value: string) => bigint } = {},
  ) {
    this.#sql = sql;
    this.#fallbacks = new LruCache(options.capacity ?? 10_000);
    this.#hash = options.hash ?? hash64;
  }

  /** The key of a value: its resolved fallback when there is one, else its hash. */
  key(table: DedupTable, value: string): bigint {
    // Almost always empty: no string is built for the lookup then.
    if (this.#fallbacks.size === 0) return this.#hash(value);
    return this.#fallbacks.get(`${table}\n${value}`) ?? this.#hash(value);
  }

  /**
   * Resolves the keys of values that collided (read-only): each value gets the
   * first candidate that holds it, else the first free one past candidates
   * holding other values. Two values of the request both new under one key
   * both get that key (neither is committed yet): the caller writes one of
   * them first, and the other resolves again once it is stored.
   *
   * `sql` is the ring's database unless given (a transaction).
   *
   * @throws {KeysExhaustedError} when every candidate holds another value.
   */
  async resolve(requests: readonly KeyRequest[], sql: Sql = this.#sql): Promise<void> {
    const unique = new Map<string, KeyRequest>();
    for (const r of requests) unique.set(`${r.table}\n${r.value}`, r);
    if (unique.size === 0) return;
    const secret = await loadSecret(sql);
    const candidates = new Map<string, bigint[]>();
    const ids = new Map<DedupTable, bigint[]>();
    for (const [ref, r] of unique) {
      const c = [this.#hash(r.value), ...await fallbacks(secret, r.table, r.value)];
      candidates.set(ref, c);
      const of = ids.get(r.table);
      if (of) of.push(...c);
      else ids.set(r.table, c.slice());
    }
    const stored = await storedValues(sql, ids);
    for (const [ref, r] of unique) {
      const c = candidates.get(ref)!;
      const at = (k: bigint) => stored.get(`${r.table}\n${k}`);
      const id = c.find((k) => at(k) === r.value) ?? c.find((k) => at(k) === undefined);
      if (id === undefined) throw new KeysExhaustedError(r.table);
      if (id === c[0]) this.#fallbacks.delete(ref);
      else this.#fallbacks.set(ref, id);
    }
  }
}
