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

/**
 * An endpoint whose kind the named provider does not serve: a provider
 * registered for sms (and mms) cannot take an email endpoint, nor the other
 * way round.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProviderKindError } from "./errors.ts";
 * const err = new ProviderKindError("twilio", "acme", "sms", "email");
 * assert.equal(
 *   err.message,
 *   "provider twilio of customer acme is an sms provider; it cannot take an email endpoint",
 * );
 * ```
 */
export class ProviderKindError extends UsageError {
  /** The provider's kind, as stored. */
  readonly providerKind: string;
  /** The kind of the endpoint refused. */
  readonly kind: EndpointKind;

  /** Makes the error for provider `provider` of customer `customer`. */
  constructor(provider: string, customer: string, providerKind: string, kind: EndpointKind) {
    const article = (k: string) => /^[aeiou]|^sms|^mms/.test(k) ? "an" : "a";
    super(
      `provider ${provider} of customer ${customer} is ${article(providerKind)} ${providerKind} ` +
        `provider; it cannot take ${article(kind)} ${kind} endpoint`,
      { hint: "give a provider of that kind (a new name creates one)" },
    );
    this.name = "ProviderKindError";
    this.providerKind = providerKind;
    this.kind = kind;
  }
}

/**
 * An address no endpoint mapping matches (`endpoint remove`).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnknownEndpointError } from "./errors.ts";
 * assert.equal(
 *   new UnknownEndpointError("no sms or mms endpoint mapping for +14155550100").name,
 *   "UnknownEndpointError",
 * );
 * ```
 */
export class UnknownEndpointError extends UsageError {
  /** Makes the error; the message names the address (the user's own input). */
  constructor(message: string) {
    super(message);
    this.name = "UnknownEndpointError";
  }
}
