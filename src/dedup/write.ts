/**
 * The one writer of dedup rows (`phone_numbers`, `email_addresses`,
 * `xms_bodies`, `email_bodies`, `attachment_urls`; id = hash64 of the
 * normalized value): insert what is new, then find every key that holds a
 * *different* value — a 64-bit collision, which callers refuse rather than
 * merge. Ingest writes a batch's rows through it, `endpoint add` its one
 * address, and a backfill its legacy rows.
 *
 * @module
 */
import { bareArray, textArray } from "../db/array_literal.ts";
import type { Sql } from "../db/connect.ts";
import type { DedupTable } from "./keys.ts";

/** A dedup row: key (hash64 of the normalized value) and columns. */
export type DedupRow<T> = readonly [bigint, T];
/** An address: as written, and normalized (E.164-or-`sc:`/`id:`, or the lowered email). */
export type DedupAddress = { readonly raw: string; readonly value: string };
/** A body: as received, and normalized. */
export type DedupBody = { readonly raw: string; readonly normalized: string };

/** Rows to write, each list sorted by key (the lock order every writer keeps). */
export interface DedupRows {
  readonly phones?: readonly DedupRow<DedupAddress>[];
  readonly emails?: readonly DedupRow<DedupAddress>[];
  readonly xms?: readonly DedupRow<DedupBody>[];
  readonly mails?: readonly DedupRow<DedupBody>[];
  /** Attachment URLs (stored as written: the URL is its own normalized form). */
  readonly urls?: readonly DedupRow<string>[];
}

/** A key that already holds another value. */
export interface DedupCollision {
  /** The dedup table. */
  readonly table: DedupTable;
  /** The key. */
  readonly id: bigint;
  /** The value stored under it (not the one being written). */
  readonly stored: string;
  /** The value being written under it. */
  readonly value: string;
}

/**
 * Each table's rows as array literals (`db/array_literal.ts`): keys, the value as
 * written, and the normalized value (for URLs, the URL). Built once, sent twice: by the
 * insert and by the collision check.
 */
interface Literals {
  readonly ids: string;
  readonly raws: string;
  readonly values: string;
}

function literals<T>(
  rows: readonly DedupRow<T>[],
  raw: (v: T) => string,
  value: (v: T) => string,
): Literals {
  const values = textArray(rows, (r) => value(r[1]));
  // A URL is its own normalized form: one literal for both.
  return {
    ids: bareArray(rows, (r) => r[0]),
    raws: raw === value ? values : textArray(rows, (r) => raw(r[1])),
    values,
  };
}

interface DedupLiterals {
  readonly phones: Literals;
  readonly emails: Literals;
  readonly xms: Literals;
  readonly mails: Literals;
  readonly urls: Literals;
}

function insertRows(sql: Sql, d: DedupLiterals) {
  // `on conflict do nothing` has no target: the primary key (id = hash) is the
  // only unique index since migration 20261203160000_dedup_hash_key dropped the duplicate
  // unique (hash) constraints. (While both existed, a target named only one
  // arbiter and two workers inserting the same new value failed on the other,
  // "duplicate key … hash_key", as the four-worker test showed.)
  return sql`
    with
    p as (
      insert into phone_numbers (id, raw, e164, hash)
      select id, raw, v, id
      from unnest(${d.phones.ids}::bigint[], ${d.phones.raws}::text[],
                  ${d.phones.values}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    e as (
      insert into email_addresses (id, raw, lowered, hash)
      select id, raw, v, id
      from unnest(${d.emails.ids}::bigint[], ${d.emails.raws}::text[],
                  ${d.emails.values}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    xb as (
      insert into xms_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${d.xms.ids}::bigint[], ${d.xms.raws}::text[],
                  ${d.xms.values}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    eb as (
      insert into email_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${d.mails.ids}::bigint[], ${d.mails.raws}::text[],
                  ${d.mails.values}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    u as (
      insert into attachment_urls (id, raw, hash)
      select id, raw, id
      from unnest(${d.urls.ids}::bigint[], ${d.urls.raws}::text[]) as t(id, raw)
      order by id
      on conflict do nothing
    )
    select 1`;
}

/** Keys whose stored value differs from ours. A separate statement, so it sees rows other workers committed meanwhile. */
function collisions(sql: Sql, d: DedupLiterals) {
  return sql<{ t: DedupTable; id: bigint; stored: string; value: string }[]>`
    select 'phone_numbers' as t, p.id, p.e164 as stored, x.v as value from phone_numbers p
      join unnest(${d.phones.ids}::bigint[], ${d.phones.values}::text[])
        as x(id, v) on p.id = x.id
      where p.e164 <> x.v
    union all
    select 'email_addresses', a.id, a.lowered, x.v from email_addresses a
      join unnest(${d.emails.ids}::bigint[], ${d.emails.values}::text[])
        as x(id, v) on a.id = x.id
      where a.lowered <> x.v
    union all
    select 'xms_bodies', b.id, b.normalized, x.v from xms_bodies b
      join unnest(${d.xms.ids}::bigint[], ${d.xms.values}::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'email_bodies', b.id, b.normalized, x.v from email_bodies b
      join unnest(${d.mails.ids}::bigint[], ${d.mails.values}::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'attachment_urls', u.id, u.raw, x.v from attachment_urls u
      join unnest(${d.urls.ids}::bigint[], ${d.urls.values}::text[])
        as x(id, v) on u.id = x.id
      where u.raw <> x.v`;
}

/**
 * Writes dedup rows in the caller's transaction (`on conflict do nothing`:
 * existing rows keep their `raw`) and returns the keys that hold a different
 * value. The two statements are sent together (pipelined) when the caller
 * starts other statements in the same tick.
 *
 * @returns the collisions; empty when every key holds our value.
 * @example Usage
 * ```ts ignore
 * const collisions = await writeDedupRows(tx, { phones: [[key, { raw, value }]] });
 * // each collision names the table, the key, the value stored and ours
 * if (collisions.length) await ring.resolve(collisions.map((c) => ({ table: c.table, value: c.value })));
 * ```
 */
export async function writeDedupRows(sql: Sql, rows: DedupRows): Promise<DedupCollision[]> {
  const address = (a: DedupAddress) => a.value;
  const normalized = (b: DedupBody) => b.normalized;
  const url = (u: string) => u;
  const d: DedupLiterals = {
    phones: literals(rows.phones ?? [], (a) => a.raw, address),
    emails: literals(rows.emails ?? [], (a) => a.raw, address),
    xms: literals(rows.xms ?? [], (b) => b.raw, normalized),
    mails: literals(rows.mails ?? [], (b) => b.raw, normalized),
    urls: literals(rows.urls ?? [], url, url),
  };
  const [, found] = await Promise.all([insertRows(sql, d), collisions(sql, d)]);
  return found.map((c) => ({ table: c.t, id: c.id, stored: c.stored, value: c.value }));
}
