/**
 * Which events an operator means: the filters `convo queue list`, `retry`
 * and `drop` share (`--status`, `--type`, `--error-like`, `--since`, `--id`),
 * as one SQL condition, so the three commands can never disagree about what
 * a filter matches.
 *
 * @module
 */
import type { Fragment } from "postgres";
import type { Sql } from "../db/connect.ts";

/** Queue states. */
export const EVENT_STATUSES = ["pending", "processing", "done", "dead"] as const;

/** One of {@link EVENT_STATUSES}. */
export type EventStatus = typeof EVENT_STATUSES[number];

/** A set of events; every given field narrows it (all absent: every event). */
export interface EventSelector {
  /** Only events in this state. */
  status?: EventStatus;
  /** Only events of this type (`twilio.message`, …). */
  eventType?: string;
  /** Only events whose `last_error` contains this text, case-insensitively (as typed: no wildcards). */
  errorLike?: string;
  /** Only events received at or after this time (`timestamptz` text, microseconds kept). */
  since?: string;
  /** Only these ids. */
  ids?: readonly bigint[];
}

/** Whether a selector names anything beyond a status (a bare `drop` must be refused). */
export function hasFilter(selector: EventSelector): boolean {
  return selector.eventType !== undefined || selector.errorLike !== undefined ||
    selector.since !== undefined || selector.ids !== undefined;
}

/**
 * `TEXT` as a `LIKE` pattern matching it literally anywhere: `%`, `_` and the
 * escape character `\` are escaped.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert/strict";
 * import { containsPattern } from "./select.ts";
 * assert.equal(containsPattern("50%_off\\"), "%50\\%\\_off\\\\%");
 * ```
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The selector as a condition on `inbound_events` (columns unqualified), to
 * put after `where`. Values go through the tagged template only.
 */
export function selectorCondition(sql: Sql, selector: EventSelector): Fragment {
  const filters: Fragment[] = [];
  if (selector.status !== undefined) filters.push(sql`status = ${selector.status}`);
  if (selector.eventType !== undefined) filters.push(sql`event_type = ${selector.eventType}`);
  if (selector.errorLike !== undefined) {
    filters.push(sql`last_error ilike ${containsPattern(selector.errorLike)}`);
  }
  if (selector.since !== undefined) {
    filters.push(sql`received_at >= ${selector.since}::timestamptz`);
  }
  if (selector.ids !== undefined) {
    filters.push(sql`id = any(${selector.ids.map(String)}::bigint[])`);
  }
  return filters.reduce((acc, f) => sql`${acc} and ${f}`, sql`true`);
}
