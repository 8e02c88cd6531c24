import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/connect.ts";
import { createLogger } from "../../src/log/logger.ts";
import { withTestDatabase } from "../_helpers/db.ts";

const logger = createLogger({ level: "error", write: () => {} });

Deno.test("openDatabase() sets TimeZone=UTC, application_name, and returns bigint as BigInt", async () => {
  await withTestDatabase(async ({ url }) => {
    const db = await openDatabase(resolveConfig({ databaseUrl: url }, {}), logger, {
      command: "test",
    });
    try {
      const [row] = await db.sql`
        select current_setting('TimeZone') as tz, current_setting('application_name') as app,
               9007199254740993::bigint as big, count(*) as n from pg_class where false`;
      assert.equal(row.tz, "UTC");
      assert.equal(row.app, "convo test");
      assert.equal(row.big, 9007199254740993n);
      assert.equal(row.n, 0n);
      assert.equal(db.embedded, false);
    } finally {
      await db.close();
    }
  });
});
