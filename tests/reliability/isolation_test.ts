/**
 * A poison event — one whose processing kills or stalls the worker — must die
 * alone: its batch-mates, whose claims expired with it, are done.
 *
 * The poison is real, not a seam in convo: a trigger of the test database
 * makes writing its message sleep (a stall inside the batch transaction, as a
 * pathological payload or a hung server would), and the test then kills the
 * worker with SIGKILL and ends its backend, as an OOM killer or a supervisor
 * would. convo's code cannot tell this from a genuine crash: the process is
 * gone, its claims expire. (An exit hook in the worker enabled by an
 * environment variable would test a code path production never runs.)
 */
import assert from "node:assert/strict";
import { withTestDatabase } from "../_helpers/db.ts";
import { seedManyEvents, smsLine } from "../_helpers/seed.ts";
import { prepareDatabase, statuses, until, withWorker } from "./_worker.ts";

Deno.test("convo work: a poison event that kills the worker dies alone; its batch-mates are done", async () => {
  await withTestDatabase(async ({ sql, url }) => {
    await prepareDatabase(url);
    await sql.unsafe(`
      create function poison() returns trigger language plpgsql as $$
      begin
        if new.provider_message_id = 'poison' then perform pg_sleep(600); end if;
        return new;
      end $$;
      create trigger poison before insert on messages for each row execute function poison();`);
    const lines = Array.from({ length: 30 }, (_, i) => smsLine(i === 4 ? "poison" : `m-${i}`));
    await seedManyEvents(sql, lines);

    const args = ["--drain", "--batch-size", "10", "--visibility-timeout", "1s"]
      .concat(["--max-attempts", "3", "--poll-interval", "100ms"]);
    const sleeping = () =>
      sql<{ pid: number }[]>`
        select pid from pg_stat_activity
        where datname = current_database() and application_name = 'convo work'
          and wait_event = 'PgSleep'`;
    let kills = 0;
    const deadline = Date.now() + 90_000;
    while (true) {
      const s = await statuses(sql);
      if (!s.pending && !s.processing) break;
      assert.ok(Date.now() < deadline, `not finished in time: ${JSON.stringify(s)}`);
      await withWorker(url, args, async (w) => {
        await until(
          "the worker exits or stalls on the poison",
          async () => w.exited() !== undefined || (await sleeping()).length > 0,
          30_000,
        );
        if (w.exited() === undefined) {
          w.kill("SIGKILL");
          await w.wait(10_000, "after SIGKILL");
          for (const { pid } of await sleeping()) await sql`select pg_terminate_backend(${pid})`;
          kills++;
        }
      });
      // Whatever the killed worker held is claimable once its claim expires.
      await new Promise((r) => setTimeout(r, 300));
    }
    const dead = await sql<{ id: string; error: string }[]>`
      select payload->>'provider_message_id' as id, last_error as error
      from inbound_events where status = 'dead'`;
    assert.deepEqual(dead.map((d) => d.id), ["poison"], JSON.stringify(dead));
    assert.match(dead[0].error, /claimed 4 times without finishing/);
    assert.deepEqual(await statuses(sql), { done: 29, dead: 1 });
    assert.equal(kills, 3, "the worker died on the poison once per allowed attempt");
  });
});
