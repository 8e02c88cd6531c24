/**
 * `--customer ID|NAME`: a customer by id (all digits) or by name. Shared by
 * the commands that take `--customer` (backfill-conversations, query-overview).
 *
 * @module
 */
import type { Sql } from "../db/connect.ts";
import { UsageError } from "../errors.ts";

/** A customer, as {@link resolveCustomer} finds it. */
export interface CustomerRef {
  /** The customer's id. */
  id: bigint;
  /** The customer's name. */
  name: string;
}

const DIGITS = /^\d{1,19}$/;

/**
 * Finds a customer by id (a value of digits only) or else by name (trimmed).
 * A customer whose name is all digits is therefore found by its id only.
 *
 * @throws {UsageError} naming the value when there is no such customer.
 * @example Usage
 * ```ts ignore
 * import { resolveCustomer } from "./resolve.ts";
 * await resolveCustomer(sql, "acme"); // { id: 1n, name: "acme" }
 * await resolveCustomer(sql, "1"); // { id: 1n, name: "acme" }
 * ```
 */
export async function resolveCustomer(sql: Sql, value: string): Promise<CustomerRef> {
  const text = value.trim();
  if (DIGITS.test(text) && BigInt(text) < 2n ** 63n) {
    const [row] = await sql<CustomerRef[]>`select id, name from customers where id = ${text}`;
    if (row) return row;
    throw new UsageError(`no customer with id ${text}`, {
      hint: "give a customer id or name (convo endpoint list shows them)",
    });
  }
  const [row] = await sql<CustomerRef[]>`select id, name from customers where name = ${text}`;
  if (row) return row;
  throw new UsageError(`no customer named ${JSON.stringify(text)}`, {
    hint: "give a customer id or name (convo endpoint list shows them)",
  });
}
