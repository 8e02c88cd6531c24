/**
 * Endpoint mappings: our own numbers and mailboxes, and the customer and
 * provider each belongs to. Ingest routes an event by looking its address up
 * here (`endpoint_mappings`, unique on `(kind, normalized)`: one owner per
 * address).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { ConvoError, UsageError } from "../errors.ts";
import { maskAddress } from "../log/redact.ts";
import { normalizeEmail } from "../normalize/email.ts";
import { hash64, hashHex } from "../normalize/hash.ts";
import { normalizePhone } from "../normalize/phone.ts";

/** What an endpoint is: a phone-side address (sms, mms) or a mailbox (email). */
export type EndpointKind = "sms" | "mms" | "email";

/** The endpoint kinds, for validation and help texts. */
export const ENDPOINT_KINDS: readonly EndpointKind[] = ["sms", "mms", "email"];

/** What {@link addEndpoint} adds. */
export interface EndpointInput {
  /** Customer name; the customer is created when there is none of that name. */
  customer: string;
  /** Provider name within the customer; created (with `kind`) when absent. */
  provider: string;
  /** The endpoint's kind. */
  kind: EndpointKind;
  /** The address as typed: a phone number, short code, sender id or email address. */
  address: string;
  /** Region for national phone numbers (ISO 3166, e.g. `US`); default `US`. */
  region?: string;
}

/** What {@link addEndpoint} did. */
export interface AddEndpointResult {
  /** `added`: the mapping is new; `exists`: it was already there, nothing changed. */
  status: "added" | "exists";
  /** The customer's id. */
  customerId: bigint;
  /** Whether the customer was created by this call. */
  customerCreated: boolean;
  /** The provider's id. */
  providerId: bigint;
  /** Whether the provider was created by this call. */
  providerCreated: boolean;
  /** The mapping's id. */
  mappingId: bigint;
  /** The normalized address (`+E.164`, `sc:…`, `id:…` or `local@domain`). */
  normalized: string;
  /** hash64 of the normalized address: the id of its dedup row. */
  key: bigint;
}

/** A row of {@link listEndpoints}. */
export interface EndpointRow {
  /** The mapping's id. */
  id: bigint;
  /** The customer's id. */
  customer_id: bigint;
  /** The customer's name. */
  customer: string;
  /** The provider's id. */
  provider_id: bigint;
  /** The provider's name. */
  provider: string;
  /** sms, mms or email. */
  kind: EndpointKind;
  /** The address as it was typed when the mapping was added. */
  address: string;
  /** The normalized address. */
  normalized: string;
  /** hash64(normalized), signed, as stored. */
  key: bigint;
  /** The same key as 16 hex digits (as `convo normalize` prints it). */
  key_hex: string;
  /** When the mapping was added. */
  created_at: Date;
}

/** Options of {@link listEndpoints}. */
export interface ListEndpointsOptions {
  /** Only this customer's endpoints (by name). */
  customer?: string;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** A customer or provider name: trimmed, not empty, no control characters. */
function checkName(what: string, value: string): string {
  const name = value.trim();
  if (name === "" || CONTROL.test(name)) {
    throw new UsageError(`invalid ${what} name: current value is ${JSON.stringify(value)}`, {
      hint: name === "" ? "give a non-empty name" : "names cannot hold control characters",
    });
  }
  return name;
}

/**
 * Normalizes an endpoint address for its kind, turning the normalizer's
 * RangeError (which names the value and the reason) into a usage error.
 *
 * @throws {UsageError} when the address cannot be normalized or the kind or region is unknown.
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { normalizeEndpoint } from "./endpoints.ts";
 * assert.equal(normalizeEndpoint("sms", "(415) 555-0100"), "+14155550100");
 * assert.equal(normalizeEndpoint("mms", "020 7946 0958", "GB"), "+442079460958");
 * assert.equal(normalizeEndpoint("email", "Support+Web@Example.COM"), "support@example.com");
 * assert.throws(() => normalizeEndpoint("email", "nope"), /no '@'/);
 * ```
 */
export function normalizeEndpoint(kind: EndpointKind, address: string, region?: string): string {
  try {
    switch (kind) {
      case "email":
        return normalizeEmail(address).address;
      case "sms":
      case "mms":
        return normalizePhone(address, { region }).value;
    }
  } catch (err) {
    if (err instanceof RangeError) {
      throw new UsageError(err.message, {
        hint: err.message.startsWith("Cannot use phone region")
          ? "give a two-letter ISO 3166 region such as US, GB or DE"
          : kind === "email"
          ? "give an email address such as support@example.com"
          : "give a phone number (+14155550100, or national with --region), a short code or a sender id",
      });
    }
    throw err;
  }
  throw new UsageError(`invalid endpoint kind: current value is '${kind}'`, {
    hint: `expected one of ${ENDPOINT_KINDS.join(", ")}`,
  });
}

/**
 * Finds a row, or inserts it: select; if absent, `insert … on conflict do
 * nothing returning`; if that inserted nothing, select again. Under READ
 * COMMITTED the insert waits for a concurrent transaction inserting the same
 * key; once that commits, the insert does nothing and the second select (a new
 * snapshot) sees its row. Selecting first keeps the common case (the row
 * exists) from drawing identity values it then throws away, as a bare
 * `insert … on conflict` does. The loop covers a row deleted between the
 * statements (nothing deletes these today).
 */
async function selectOrInsert<T>(
  select: () => Promise<readonly T[]>,
  insert: () => Promise<readonly T[]>,
  what: string,
): Promise<{ row: T; created: boolean }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const [found] = await select();
    if (found) return { row: found, created: false };
    const [inserted] = await insert();
    if (inserted) return { row: inserted, created: true };
  }
  throw new ConvoError(`the ${what} kept disappearing while being added; try again`);
}

/**
 * Adds an endpoint mapping, creating its customer (by name) and provider (by
 * customer and name) when absent, in one transaction. Idempotent: adding the
 * same endpoint again changes nothing (no row, no `updated_at`, no identity
 * value drawn) and reports `exists`. Safe to run from several processes at
 * once: each row is looked up, and only when absent inserted with
 * `insert … on conflict do nothing` (no conflict target, so a concurrent
 * insert into any unique constraint of the table makes it do nothing rather
 * than fail) and looked up again; all transactions take their rows in the
 * same order (customer, provider, address, mapping), so they wait for each
 * other rather than deadlock. An address already mapped elsewhere is refused
 * before anything is created, and again after the insert if a concurrent add
 * won the race (everything this call created then rolls back).
 *
 * The address is normalized (`email` → {@link normalizeEmail}, `sms`/`mms` →
 * {@link normalizePhone}) and its dedup row (`phone_numbers` or
 * `email_addresses`, id = hash64 of the normalized form) added too. An
 * existing provider keeps its kind.
 *
 * @throws {UsageError} when the address cannot be normalized, a name is blank,
 * or the address is already mapped to another customer, or to this customer
 * under another provider (the message names the owner).
 * @throws {ConvoError} when the address's 64-bit key already holds another
 * address (a hash collision: never merged silently).
 * @example Usage
 * ```ts ignore
 * import { addEndpoint } from "./endpoints.ts";
 * const r = await addEndpoint(sql, {
 *   customer: "acme", provider: "twilio", kind: "sms", address: "(415) 555-0100",
 * });
 * // r.status === "added", r.normalized === "+14155550100"; a second call: "exists"
 * ```
 */
export async function addEndpoint(sql: Sql, input: EndpointInput): Promise<AddEndpointResult> {
  const customerName = checkName("customer", input.customer);
  const providerName = checkName("provider", input.provider);
  const { kind, address } = input;
  const normalized = normalizeEndpoint(kind, address, input.region);
  const key = hash64(normalized);

  return await sql.begin(async (tx) => {
    type MappingRow = { id: bigint; customer_id: bigint; provider_id: bigint };
    const selectMapping = () =>
      tx<MappingRow[]>`
        select id, customer_id, provider_id from endpoint_mappings
        where kind = ${kind} and normalized = ${normalized}`;
    // The owner, by name, of an address mapped elsewhere (a usage error); checked
    // first so a refused add creates nothing, and again after the insert for a
    // concurrent add that won the race.
    const refuseOther = async (
      m: MappingRow,
      mine?: { customerId: bigint; providerId: bigint },
    ) => {
      const [owner] = await tx<{ customer: string; provider: string }[]>`
        select c.name as customer, p.name as provider
        from customers c join providers p on p.customer_id = c.id
        where c.id = ${m.customer_id} and p.id = ${m.provider_id}`;
      if (
        mine
          ? m.customer_id === mine.customerId && m.provider_id === mine.providerId
          : owner.customer === customerName && owner.provider === providerName
      ) {
        return;
      }
      const where = owner.customer !== customerName
        ? `customer ${owner.customer} (provider ${owner.provider})`
        : `provider ${owner.provider} of customer ${owner.customer}`;
      throw new UsageError(`${kind} ${normalized} is already mapped to ${where}`, {
        hint: "an address routes to one customer and provider",
      });
    };
    // Adds of one address wait for each other: the check below spans two kinds,
    // which no unique constraint covers.
    await tx`select pg_advisory_xact_lock(${key})`;
    const [early] = await selectMapping();
    if (early) await refuseOther(early);
    if (kind !== "email") {
      // A number receives SMS and MMS alike: both kinds must route to one customer.
      const [other] = await tx<{ kind: string; customer: string }[]>`
        select m.kind, c.name as customer from endpoint_mappings m
        join customers c on c.id = m.customer_id
        where m.kind in ('sms', 'mms') and m.kind <> ${kind} and m.normalized = ${normalized}
          and c.name <> ${customerName}`;
      if (other) {
        throw new UsageError(
          `${kind} ${normalized} is already mapped as ${other.kind} to customer ${other.customer}`,
          { hint: "a number routes to one customer for both sms and mms" },
        );
      }
    }

    const customer = await selectOrInsert(
      () => tx<{ id: bigint }[]>`select id from customers where name = ${customerName}`,
      () =>
        tx<{ id: bigint }[]>`
          insert into customers (name) values (${customerName})
          on conflict do nothing
          returning id`,
      "customer",
    );
    const customerId = customer.row.id;

    const provider = await selectOrInsert(
      () =>
        tx<{ id: bigint }[]>`
          select id from providers where customer_id = ${customerId} and name = ${providerName}`,
      () =>
        tx<{ id: bigint }[]>`
          insert into providers (customer_id, kind, name)
          values (${customerId}, ${kind}, ${providerName})
          on conflict do nothing
          returning id`,
      "provider",
    );
    const providerId = provider.row.id;

    const stored = await selectOrInsert(
      () =>
        kind === "email"
          ? tx<{ value: string }[]>`select lowered as value from email_addresses where id = ${key}`
          : tx<{ value: string }[]>`select e164 as value from phone_numbers where id = ${key}`,
      () =>
        kind === "email"
          ? tx<{ value: string }[]>`
              insert into email_addresses (id, raw, lowered, hash)
              values (${key}, ${address}, ${normalized}, ${key})
              on conflict do nothing
              returning lowered as value`
          : tx<{ value: string }[]>`
              insert into phone_numbers (id, raw, e164, hash)
              values (${key}, ${address}, ${normalized}, ${key})
              on conflict do nothing
              returning e164 as value`,
      "address",
    );
    if (stored.row.value !== normalized) {
      throw new ConvoError(
        `64-bit key collision: key ${key} (0x${hashHex(key)}) of ${normalized} already holds ` +
          `another ${kind === "email" ? "email address" : "phone address"} ` +
          `(${maskAddress(stored.row.value)})`,
        { hint: "the two are never merged; report this (it is astronomically unlikely)" },
      );
    }

    const mapping = await selectOrInsert(
      selectMapping,
      () =>
        tx<MappingRow[]>`
          insert into endpoint_mappings (customer_id, provider_id, kind, address, normalized, hash)
          values (${customerId}, ${providerId}, ${kind}, ${address}, ${normalized}, ${key})
          on conflict do nothing
          returning id, customer_id, provider_id`,
      "mapping",
    );
    // Mapped by a concurrent add since the first look: the rest rolls back.
    await refuseOther(mapping.row, { customerId, providerId });
    return {
      status: mapping.created ? "added" : "exists",
      customerId,
      customerCreated: customer.created,
      providerId,
      providerCreated: provider.created,
      mappingId: mapping.row.id,
      normalized,
      key,
    } satisfies AddEndpointResult;
  });
}

/**
 * Lists endpoint mappings with their customer and provider names, ordered by
 * customer name, kind and normalized address.
 *
 * @throws {UsageError} when `customer` names no customer.
 * @example Usage
 * ```ts ignore
 * import { listEndpoints } from "./endpoints.ts";
 * const rows = await listEndpoints(sql, { customer: "acme" });
 * // [{ customer: "acme", provider: "twilio", kind: "sms", normalized: "+14155550100", … }]
 * ```
 */
export async function listEndpoints(
  sql: Sql,
  options: ListEndpointsOptions = {},
): Promise<EndpointRow[]> {
  const customer = options.customer?.trim();
  const rows = await sql<Omit<EndpointRow, "key_hex">[]>`
    select m.id, m.customer_id, c.name as customer, m.provider_id, p.name as provider,
           m.kind, m.address, m.normalized, m.hash as key, m.created_at
    from endpoint_mappings m
    join customers c on c.id = m.customer_id
    join providers p on p.id = m.provider_id
    ${customer === undefined ? sql`` : sql`where c.name = ${customer}`}
    order by c.name, m.kind, m.normalized, m.id`;
  if (customer !== undefined && rows.length === 0) {
    const [found] = await sql`select 1 from customers where name = ${customer}`;
    if (!found) {
      throw new UsageError(`no customer named ${JSON.stringify(customer)}`, {
        hint: "convo endpoint list shows every customer's endpoints",
      });
    }
  }
  return rows.map((r) => ({ ...r, key_hex: hashHex(r.key) }));
}
