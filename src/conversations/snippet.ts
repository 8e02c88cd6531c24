/**
 * The snippet a message gives its conversation (`last_snippet`): the start of
 * its normalized body, else of its subject, else a count of its attachments.
 * Ingest computes it from an event, and the backfill and `--recount` from the
 * stored message, through this one function.
 *
 * @module
 */
import { normalizeBody } from "../normalize/body.ts";
import { snippet } from "../normalize/snippet.ts";

/** What a message shows. */
export interface SnippetSource {
  /** The normalized body text (`*_bodies.normalized`), when the message has one. */
  readonly body?: string | null;
  /** The subject as received (email). */
  readonly subject?: string | null;
  /** How many attachments it has. */
  readonly attachments: number;
}

/**
 * The snippet of a message: its body, else its normalized subject, cut to
 * `length` grapheme clusters; else `[1 attachment]` / `[N attachments]`;
 * else null (nothing to show).
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { messageSnippet } from "./snippet.ts";
 * assert.equal(messageSnippet({ body: "Hello world", attachments: 0 }, { length: 7 }), "Hello…");
 * assert.equal(messageSnippet({ subject: "  Re:   invoice ", attachments: 2 }), "Re: invoice");
 * assert.equal(messageSnippet({ subject: " ", attachments: 2 }), "[2 attachments]");
 * assert.equal(messageSnippet({ attachments: 0 }), null);
 * ```
 */
export function messageSnippet(
  source: SnippetSource,
  options: { length?: number } = {},
): string | null {
  const shown = source.body || (source.subject ? normalizeBody(source.subject) : "");
  if (shown !== "") return snippet(shown, { length: options.length });
  const n = source.attachments;
  return n === 0 ? null : n === 1 ? "[1 attachment]" : `[${n} attachments]`;
}
