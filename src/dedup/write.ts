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

const s = (v: bigint) => v.toString();

function insertRows(sql: Sql, d: Required<DedupRows>) {
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
      from unnest(${d.phones.map(([k]) => s(k))}::bigint[], ${
    d.phones.map(([, r]) => r.raw)
  }::text[],
                  ${d.phones.map(([, r]) => r.value)}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    e as (
      insert into email_addresses (id, raw, lowered, hash)
      select id, raw, v, id
      from unnest(${d.emails.map(([k]) => s(k))}::bigint[], ${
    d.emails.map(([, r]) => r.raw)
  }::text[],
                  ${d.emails.map(([, r]) => r.value)}::text[]) as t(id, raw, v)
      order by id
      on conflict do nothing
    ),
    xb as (
      insert into xms_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${d.xms.map(([k]) => s(k))}::bigint[], ${d.xms.map(([, r]) => r.raw)}::text[],
                  ${d.xms.map(([, r]) => r.normalized)}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    eb as (
      insert into email_bodies (id, raw, normalized, hash)
      select id, raw, n, id
      from unnest(${d.mails.map(([k]) => s(k))}::bigint[], ${d.mails.map(([, r]) => r.raw)}::text[],
                  ${d.mails.map(([, r]) => r.normalized)}::text[]) as t(id, raw, n)
      order by id
      on conflict do nothing
    ),
    u as (
      insert into attachment_urls (id, raw, hash)
      select id, raw, id
      from unnest(${d.urls.map(([k]) => s(k))}::bigint[], ${
    d.urls.map(([, r]) => r)
  }::text[]) as t(id, raw)
      order by id
      on conflict do nothing
    )
    select 1`;
}

/** Keys whose stored value differs from ours. A separate statement, so it sees rows other workers committed meanwhile. */
function collisions(sql: Sql, d: Required<DedupRows>) {
  return sql<{ t: DedupTable; id: bigint; stored: string; value: string }[]>`
    select 'phone_numbers' as t, p.id, p.e164 as stored, x.v as value from phone_numbers p
      join unnest(${d.phones.map(([k]) => s(k))}::bigint[], ${
    d.phones.map(([, r]) => r.value)
  }::text[])
        as x(id, v) on p.id = x.id
      where p.e164 <> x.v
    union all
    select 'email_addresses', a.id, a.lowered, x.v from email_addresses a
      join unnest(${d.emails.map(([k]) => s(k))}::bigint[], ${
    d.emails.map(([, r]) => r.value)
  }::text[])
        as x(id, v) on a.id = x.id
      where a.lowered <> x.v
    union all
    select 'xms_bodies', b.id, b.normalized, x.v from xms_bodies b
      join unnest(${d.xms.map(([k]) => s(k))}::bigint[], ${
    d.xms.map(([, r]) => r.normalized)
  }::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'email_bodies', b.id, b.normalized, x.v from email_bodies b
      join unnest(${d.mails.map(([k]) => s(k))}::bigint[], ${
    d.mails.map(([, r]) => r.normalized)
  }::text[])
        as x(id, v) on b.id = x.id
      where b.normalized <> x.v
    union all
    select 'attachment_urls', u.id, u.raw, x.v from attachment_urls u
      join unnest(${d.urls.map(([k]) => s(k))}::bigint[], ${d.urls.map(([, r]) => r)}::text[])
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
  const d: Required<DedupRows> = {
    phones: rows.phones ?? [],
    emails: rows.emails ?? [],
    xms: rows.xms ?? [],
    mails: rows.mails ?? [],
    urls: rows.urls ?? [],
  };
  const [, found] = await Promise.all([insertRows(sql, d), collisions(sql, d)]);
  return found.map((c) => ({ table: c.t, id: c.id, stored: c.stored, value: c.value }));
}
