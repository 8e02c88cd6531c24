/**
 * Endpoint administration: stop routing an address (`convo endpoint remove`).
 * Only the mapping goes; messages, conversations, contacts, the customer,
 * the provider and the address's dedup row stay (messages reference them).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { UnknownEndpointError } from "./errors.ts";
import { normalizeEndpoint } from "./normalize.ts";
import type { EndpointKind } from "./types.ts";

/** What {@link removeEndpoint} removes. */
export interface RemoveEndpointInput {
  /** The address as typed, in any spelling ingest would normalize to the mapped one. */
  address: string;
  /** Only the mapping of this kind; default every kind the address is mapped as. */
  kind?: EndpointKind;
  /** Only if it belongs to this customer (by name): a guard against removing another's. */
  customer?: string;
  /** Region for national phone numbers; default `US`. */
  region?: string;
  /** Find what would be removed, and remove nothing. */
  dryRun?: boolean;
}

/** A mapping {@link removeEndpoint} removed (or would remove). */
export interface RemovedEndpoint {
  /** The mapping's id. */
  id: bigint;
  /** sms, mms or email. */
  kind: EndpointKind;
  /** The normalized address. */
  normalized: string;
  /** The customer's name. */
  customer: string;
  /** The provider's name. */
  provider: string;
}

/** The mappings an address names: its normalized form and the kinds to look at. */
export interface RemovalTarget {
  /** The address normalized as ingest normalizes it. */
  normalized: string;
  /** `[kind]` when given; else `["email"]` for an address with an `@`, `["sms", "mms"]` otherwise. */
  kinds: EndpointKind[];
}

/**
 * Normalizes the address of a removal (pure, so a bad address is refused
 * before any connection is made).
 *
 * @throws {UsageError} when the address cannot be normalized.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { removalTarget } from "./remove.ts";
 * assert.deepEqual(removalTarget({ address: "(415) 555-0100" }), {
 *   normalized: "+14155550100",
 *   kinds: ["sms", "mms"],
 * });
 * assert.deepEqual(removalTarget({ address: "Support@Example.org" }).kinds, ["email"]);
 * ```
 */
export function removalTarget(
  input: Pick<RemoveEndpointInput, "address" | "kind" | "region">,
): RemovalTarget {
  const email = input.kind === "email" || (input.kind === undefined && input.address.includes("@"));
  // sms and mms normalize alike: one normalized form for either.
  const normalized = normalizeEndpoint(
    input.kind ?? (email ? "email" : "sms"),
    input.address,
    input.region,
  );
  const kinds: EndpointKind[] = input.kind !== undefined
    ? [input.kind]
    : email
    ? ["email"]
    : ["sms", "mms"];
  return { normalized, kinds };
}

/**
 * Deletes the endpoint mappings of an address (every kind it is mapped as,
 * or `kind` only; only the named customer's with `customer`), in one
 * statement, and returns them. An address is normalized as ingest
 * normalizes it: with an `@` (or `kind` email) as an email address, else as a
 * phone number. Nothing matching is a usage error, so a typo is not a silent
 * success.
 *
 * Events already queued for the address are not touched: once a worker's
 * routing cache (30 s) has seen the removal, they die with "no endpoint
 * mapping" and can be retried after the address is mapped again.
 *
 * @throws {UsageError} when the address cannot be normalized;
 * {@link UnknownEndpointError} (a usage error) when no mapping matches.
 * @example Usage
 * ```ts ignore
 * import { removeEndpoint } from "./remove.ts";
 * const removed = await removeEndpoint(sql, { address: "(415) 555-0100", customer: "acme" });
 * // [{ kind: "sms", normalized: "+14155550100", customer: "acme", provider: "twilio", … }]
 * ```
 */
export async function removeEndpoint(
  sql: Sql,
  input: RemoveEndpointInput,
): Promise<RemovedEndpoint[]> {
  const { normalized, kinds } = removalTarget(input);
  const customer = input.customer?.trim();
  const match = sql`
    m.kind = any(${kinds}::text[]) and m.normalized = ${normalized}
    ${customer === undefined ? sql`` : sql`and c.name = ${customer}`}`;
  const rows = input.dryRun
    ? await sql<RemovedEndpoint[]>`
      select m.id, m.kind, m.normalized, c.name as customer, p.name as provider
      from endpoint_mappings m
      join customers c on c.id = m.customer_id
      join providers p on p.id = m.provider_id
      where ${match}
      order by m.kind`
    : await sql<RemovedEndpoint[]>`
      with gone as (
        delete from endpoint_mappings m using customers c
        where c.id = m.customer_id and ${match}
        returning m.id, m.kind, m.normalized, c.name as customer, m.provider_id
      )
      select g.id, g.kind, g.normalized, g.customer, p.name as provider
      from gone g join providers p on p.id = g.provider_id
      order by g.kind`;
  if (rows.length === 0) {
    const what = kinds.join(" or ");
    throw new UnknownEndpointError(
      `no ${what} endpoint mapping for ${normalized}` +
        (customer === undefined ? "" : ` of customer ${customer}`),
    );
  }
  return rows.map((r) => ({ ...r }));
}
