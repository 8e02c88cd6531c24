/**
 * Endpoint administration: map one of our numbers or mailboxes to the customer
 * and provider that own it (`endpoint_mappings`, unique on `(kind,
 * normalized)`: one owner per address). Ingest routes by these rows
 * (`route.ts`).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { KeyRing, KeysExhaustedError } from "../dedup/keys.ts";
import { writeDedupRows } from "../dedup/write.ts";
import { ConvoError, UsageError } from "../errors.ts";
import { maskAddress } from "../log/redact.ts";
import { hash64, hashHex } from "../normalize/hash.ts";
import { ProviderKindError } from "./errors.ts";
import { normalizeEndpoint } from "./normalize.ts";
import type { EndpointKind } from "./types.ts";

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
  /** The id of its dedup row: hash64 of the normalized address, unless that key holds another address (then a fallback key: `dedup/keys.ts`). */
  key: bigint;
}

// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f]/;

/** The longest customer or provider name, in characters (code points). */
export const MAX_NAME_LENGTH = 100;

/**
 * A customer or provider name: trimmed, 1…{@link MAX_NAME_LENGTH} characters,
 * no control characters (names are printed in tables and log lines).
 */
function checkName(what: string, value: string): string {
  const name = value.trim();
  const length = [...name].length;
  if (name === "" || CONTROL.test(name) || length > MAX_NAME_LENGTH) {
    const shown = length > 40
      ? JSON.stringify([...name].slice(0, 40).join("")) + "…"
      : JSON.stringify(value);
    throw new UsageError(`invalid ${what} name: current value is ${shown}`, {
      hint: name === ""
        ? "give a non-empty name"
        : length > MAX_NAME_LENGTH
        ? `names are at most ${MAX_NAME_LENGTH} characters (this one has ${length})`
        : "names cannot hold control characters",
    });
  }
  return name;
}

/** Endpoint kinds a provider of `kind` serves: sms and mms are one family, email another. */
function sameFamily(providerKind: string, kind: EndpointKind): boolean {
  const phone = (k: string) => k === "sms" || k === "mms";
  return kind === "email" ? providerKind === "email" : phone(providerKind);
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
 * The address is normalized (`email` → `normalizeEmail`, `sms`/`mms` →
 * `normalizePhone`) and its dedup row (`phone_numbers` or
 * `email_addresses`, id = hash64 of the normalized form) added too, through
 * the one dedup writer (`dedup/write.ts`). An
 * existing provider keeps its kind.
 *
 * A provider serves one family of endpoints: an `sms` or `mms` provider takes
 * sms and mms endpoints, an `email` provider email ones; an endpoint of the
 * other family under an existing provider is refused ({@link ProviderKindError}).
 *
 * @throws {UsageError} when the address cannot be normalized, a name is blank,
 * longer than {@link MAX_NAME_LENGTH} characters or holds control characters,
 * the provider serves the other family,
 * or the address is already mapped to another customer, or to this customer
 * under another provider (the message names the owner).
 * The address's dedup row is written under its `hash64` key, or under its
 * first free fallback key when that key holds another address (a 64-bit
 * collision, maybe forged: `dedup/keys.ts`); never merged.
 *
 * @throws {ConvoError} when every candidate key holds another address.
 * @example Usage
 * ```ts ignore
 * import { addEndpoint } from "./add.ts";
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
        tx<{ id: bigint; kind: string }[]>`
          select id, kind from providers
          where customer_id = ${customerId} and name = ${providerName}`,
      () =>
        tx<{ id: bigint; kind: string }[]>`
          insert into providers (customer_id, kind, name)
          values (${customerId}, ${kind}, ${providerName})
          on conflict do nothing
          returning id, kind`,
      "provider",
    );
    const providerId = provider.row.id;
    // A provider carries one family of traffic; whatever this call created rolls back.
    if (!sameFamily(provider.row.kind, kind)) {
      throw new ProviderKindError(providerName, customerName, provider.row.kind, kind);
    }

    // The address's dedup row: under its hash64 key, or, when that key holds another
    // address (a 64-bit collision, maybe forged), under its first free fallback key.
    const table = kind === "email" ? "email_addresses" : "phone_numbers";
    const write = (id: bigint) =>
      writeDedupRows(tx as unknown as Sql, {
        [kind === "email" ? "emails" : "phones"]: [[id, { raw: address, value: normalized }]],
      });
    let id = key;
    let [collision] = await write(id);
    if (collision) {
      const ring = new KeyRing(tx as unknown as Sql);
      try {
        await ring.resolve([{ table, value: normalized }]);
      } catch (err) {
        if (!(err instanceof KeysExhaustedError)) throw err;
        throw new ConvoError(`${err.message} (${kind} ${maskAddress(normalized)})`, {
          hint: "the two are never merged; report this",
        });
      }
      id = ring.key(table, normalized);
      [collision] = await write(id);
    }
    if (collision) {
      throw new ConvoError(
        `64-bit key collision: key ${id} (0x${hashHex(id)}) of ${normalized} was taken ` +
          `by another ${kind === "email" ? "email address" : "phone address"} ` +
          `(${maskAddress(collision.stored)}) meanwhile`,
        { hint: "run the command again" },
      );
    }

    const mapping = await selectOrInsert(
      selectMapping,
      () =>
        tx<MappingRow[]>`
          insert into endpoint_mappings (customer_id, provider_id, kind, address, normalized, hash)
          values (${customerId}, ${providerId}, ${kind}, ${address}, ${normalized}, ${id})
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
      key: id,
    } satisfies AddEndpointResult;
  });
}
