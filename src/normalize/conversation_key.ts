/**
 * The conversation key: which conversation a message belongs to, from its
 * channel and every participant address (ours included).
 *
 * The key string is `channel + "\n" + sorted unique participants joined by
 * "\n"`. Changing it changes every key: that is a data migration.
 *
 * @module
 */
import type { Channel } from "./address.ts";
import { hash64 } from "./hash.ts";

/** A conversation's identity. */
export interface ConversationKey {
  /** The conversation channel: MMS threads with SMS. */
  channel: "sms" | "email";
  /** `hash64` of the key string; `conversations.participants_key`. */
  key: bigint;
  /** The participants, sorted by UTF-16 code unit and de-duplicated. */
  participants: string[];
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Computes the conversation key from already normalized participant addresses
 * (see `normalizeAddress`): sorted by code unit, duplicates removed, hashed
 * with the channel (`mms` counts as `sms`).
 *
 * @throws {RangeError} for no participants, an empty address, or one containing
 * a line feed (it would make the key string ambiguous).
 * @example Usage
 * ```ts
 * import { equal } from "node:assert/strict";
 * import { conversationKey } from "./conversation_key.ts";
 * import { hash64 } from "./hash.ts";
 * const a = conversationKey("mms", ["+442079460958", "+14155552671", "+14155552671"]);
 * equal(a.channel, "sms");
 * equal(a.participants.join(), "+14155552671,+442079460958");
 * equal(a.key, hash64("sms\n+14155552671\n+442079460958"));
 * equal(a.key, conversationKey("sms", ["+14155552671", "+442079460958"]).key);
 * ```
 */
export function conversationKey(
  channel: Channel,
  participants: readonly string[],
): ConversationKey {
  let ch: "sms" | "email";
  if (channel === "sms" || channel === "mms") ch = "sms";
  else if (channel === "email") ch = "email";
  else {
    throw new RangeError(
      `Cannot compute conversation key: current channel is '${channel}' (expected sms, mms or email)`,
    );
  }
  if (participants.length === 0) {
    throw new RangeError("Cannot compute conversation key: current participants are '' (none)");
  }
  const sorted = participants.slice().sort(byCodeUnit);
  const unique: string[] = [];
  for (const p of sorted) {
    if (p === "" || p.includes("\n")) {
      throw new RangeError(
        `Cannot compute conversation key: current participant is '${p}' (empty or has a line feed)`,
      );
    }
    if (p !== unique[unique.length - 1]) unique.push(p);
  }
  return { channel: ch, key: hash64(ch + "\n" + unique.join("\n")), participants: unique };
}
