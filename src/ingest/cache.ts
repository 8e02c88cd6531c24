/**
 * What a worker already knows exists in the database: dedup addresses (key →
 * normalized value), contacts (customer, kind, address → contact id) and
 * conversations (customer, channel, key → id, participants). These rows never
 * change once committed, so a batch can skip writing and re-reading them —
 * in steady state most addresses, contacts and conversations recur.
 *
 * Entries are added only after the batch that wrote or read them commits, and
 * the whole cache is dropped when a batch fails (a row may have been deleted
 * under it), so it never claims more than the database holds.
 *
 * @module
 */
import { LruCache } from "../lru.ts";

/** Entries learned by one batch, added once it commits. */
export interface Learned {
  /** Address keys and their normalized values. */
  readonly addresses: [bigint, string][];
  /** Contact refs and their ids. */
  readonly contacts: [string, bigint][];
  /** Conversation refs, ids and participants joined by `\n`. */
  readonly conversations: [string, { id: bigint; participants: string }][];
}

/** The worker's cache. */
export class WriteCache {
  readonly #addresses: LruCache<bigint, string>;
  readonly #contacts: LruCache<string, bigint>;
  readonly #conversations: LruCache<string, { id: bigint; participants: string }>;

  /** Makes a cache holding up to `capacity` entries of each kind. */
  constructor(capacity = 100_000) {
    this.#addresses = new LruCache(capacity);
    this.#contacts = new LruCache(capacity);
    this.#conversations = new LruCache(capacity);
  }

  /** The normalized value stored under an address key, if known. */
  address(key: bigint): string | undefined {
    return this.#addresses.get(key);
  }

  /** The id of a contact ref, if known. */
  contact(ref: string): bigint | undefined {
    return this.#contacts.get(ref);
  }

  /** The id and participants of a conversation ref, if known. */
  conversation(ref: string): { id: bigint; participants: string } | undefined {
    return this.#conversations.get(ref);
  }

  /** Adds what a committed batch learned. */
  learn(learned: Learned): void {
    for (const [k, v] of learned.addresses) this.#addresses.set(k, v);
    for (const [k, v] of learned.contacts) this.#contacts.set(k, v);
    for (const [k, v] of learned.conversations) this.#conversations.set(k, v);
  }

  /** Forgets everything. */
  clear(): void {
    this.#addresses.clear();
    this.#contacts.clear();
    this.#conversations.clear();
  }
}
