import { deepEqual, equal } from "node:assert/strict";
import fc from "fast-check";
import { bareArray, textArray } from "../../src/db/array_literal.ts";
import { withTestDatabase } from "../_helpers/db.ts";

Deno.test("array literals: the server reads back exactly what was sent", async () => {
  await withTestDatabase(async ({ sql }) => {
    // Read back as JSON: postgres.js reads a NULL element of a text[] result as "NULL".
    // Text PostgreSQL can store (no U+0000), with everything an array literal treats
    // specially: quotes, backslashes, braces, commas, spaces, the word NULL, "".
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom('"', "\\", "{", "}", ",", " ", "\t", "\n", "NULL", "null", "é", "👍"),
        fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== "\0"),
      ),
      maxLength: 12,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(text, { nil: null }), { maxLength: 8 }), async (xs) => {
        const [{ got }] = await sql<{ got: (string | null)[] }[]>`
          select to_json(${textArray(xs, (v) => v)}::text[]) as got`;
        deepEqual(got, xs);
      }),
      { numRuns: 300 },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.option(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), { nil: null }),
          {
            maxLength: 8,
          },
        ),
        async (xs) => {
          const [{ got }] = await sql<{ got: (string | null)[] }[]>`
            select to_json(${bareArray(xs, (v) => v)}::bigint[]::text[]) as got`;
          deepEqual(got, xs.map((v) => (v === null ? null : v.toString())));
        },
      ),
      { numRuns: 200 },
    );
    const when = [new Date("2026-12-04T16:00:00.123Z"), null, new Date(0)];
    const got = await sql<{ t: Date | null }[]>`
      select t from unnest(${bareArray(when, (v) => v)}::timestamptz[]) with ordinality as u(t, n)
      order by n`;
    deepEqual(
      got.map((r) => r.t?.toISOString() ?? null),
      when.map((d) => d?.toISOString() ?? null),
    );
    const [{ ints }] = await sql<{ ints: number[] }[]>`select ${
      bareArray([1, 2], (v) => v)
    }::int[] as ints`;
    deepEqual(ints, [1, 2]);
    equal(bareArray([], (v: number) => v), "{}");
  });
});
