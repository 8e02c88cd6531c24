/**
 * Lists endpoint mappings with their customer and provider names.
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { UnknownCustomerError } from "./errors.ts";
import type { EndpointKind } from "./types.ts";

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
  /** When the mapping was added. */
  created_at: Date;
}

/** Options of {@link listEndpoints}. */
export interface ListEndpointsOptions {
  /** Only this customer's endpoints (by name). */
  customer?: string;
}

/**
 * Lists endpoint mappings with their customer and provider names, ordered by
 * customer name, kind and normalized address.
 *
 * @throws {UnknownCustomerError} (a usage error) when `customer` names no customer.
 * @example Usage
 * ```ts ignore
 * import { listEndpoints } from "./list.ts";
 * const rows = await listEndpoints(sql, { customer: "acme" });
 * // [{ customer: "acme", provider: "twilio", kind: "sms", normalized: "+14155550100", … }]
 * ```
 */
export async function listEndpoints(
  sql: Sql,
  options: ListEndpointsOptions = {},
): Promise<EndpointRow[]> {
  const customer = options.customer?.trim();
  const rows = await sql<EndpointRow[]>`
    select m.id, m.customer_id, c.name as customer, m.provider_id, p.name as provider,
           m.kind, m.address, m.normalized, m.hash as key, m.created_at
    from endpoint_mappings m
    join customers c on c.id = m.customer_id
    join providers p on p.id = m.provider_id
    ${customer === undefined ? sql`` : sql`where c.name = ${customer}`}
    order by c.name, m.kind, m.normalized, m.id`;
  if (customer !== undefined && rows.length === 0) {
    const [found] = await sql`select 1 from customers where name = ${customer}`;
    if (!found) throw new UnknownCustomerError(customer);
  }
  return [...rows];
}
