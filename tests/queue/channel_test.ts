import assert from "node:assert/strict";
import { QUEUE_CHANNEL } from "../../src/queue/channel.ts";

Deno.test("QUEUE_CHANNEL is the channel the inbound_events insert trigger notifies", async () => {
  const sql = await Deno.readTextFile(
    new URL("../../migrations/0003_inbound_events.up.sql", import.meta.url),
  );
  const channels = [...sql.matchAll(/pg_notify\('([^']*)'/g)].map((m) => m[1]);
  assert.deepEqual(channels, [QUEUE_CHANNEL]);
});
