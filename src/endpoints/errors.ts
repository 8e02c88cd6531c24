/**
 * The endpoint errors a caller may want to tell apart: both are the user's mistake
 * ({@link UsageError}, exit code 2), and carry the facts, so that a command can add a hint
 * naming its own flags (`cli/endpoint.ts`) while the core's message stays the same.
 *
 * @module
 */
import { UsageError } from "../errors.ts";
import type { EndpointKind } from "./types.ts";

/**
 * An address that cannot be normalized for its kind. The message is the normalizer's
 * (it names the value, the user's own input, and why).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { EndpointAddressError } from "./errors.ts";
 * import { UsageError } from "../errors.ts";
 * const err = new EndpointAddressError("Cannot parse email address: current value is 'x' (no '@')", {
 *   kind: "email",
 *   hint: "give an email address such as support@example.com",
 * });
 * assert.ok(err instanceof UsageError);
 * assert.equal(err.kind, "email");
 * ```
 */
export class EndpointAddressError extends UsageError {
  /** The kind the address was normalized as. */
  readonly kind: EndpointKind;

  /** Makes the error for an address of `kind`. */
  constructor(message: string, options: { kind: EndpointKind; hint?: string; cause?: unknown }) {
    super(message, { hint: options.hint, cause: options.cause });
    this.name = "EndpointAddressError";
    this.kind = options.kind;
  }
}

/**
 * A customer name that names no customer.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownCustomerError } from "./errors.ts";
 * const err = new UnknownCustomerError("initech");
 * assert.equal(err.message, 'no customer named "initech"');
 * assert.equal(err.customer, "initech");
 * ```
 */
export class UnknownCustomerError extends UsageError {
  /** The name, as looked up (trimmed). */
  readonly customer: string;

  /** Makes the error for the name `customer`. */
  constructor(customer: string) {
    super(`no customer named ${JSON.stringify(customer)}`);
    this.name = "UnknownCustomerError";
    this.customer = customer;
  }
}
