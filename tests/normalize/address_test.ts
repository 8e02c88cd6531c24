import { equal, throws } from "node:assert/strict";
import { normalizeAddress } from "../../src/normalize/address.ts";
import type { Channel } from "../../src/normalize/address.ts";

Deno.test("normalizeAddress() dispatches email to normalizeEmail", () => {
  equal(normalizeAddress("email", '"Jane" <Jane.Doe+x@GoogleMail.com>'), "janedoe@gmail.com");
});

Deno.test("normalizeAddress() dispatches sms and mms to normalizePhone", () => {
  equal(normalizeAddress("sms", "(415) 555-2671"), "+14155552671");
  equal(normalizeAddress("mms", "12345"), "sc:12345");
  equal(normalizeAddress("sms", "Acme"), "id:ACME");
});

Deno.test("normalizeAddress() passes the region to normalizePhone", () => {
  equal(normalizeAddress("sms", "020 7946 0958", { region: "GB" }), "+442079460958");
  throws(() => normalizeAddress("sms", "020 7946 0958"), /Cannot parse phone number/);
});

Deno.test("normalizeAddress() lets normalizer errors through", () => {
  throws(() => normalizeAddress("email", "not-an-address"), /Cannot parse email address/);
  throws(() => normalizeAddress("sms", "jane@x.com"), /Cannot parse phone number/);
});

Deno.test("normalizeAddress() rejects an unknown channel", () => {
  throws(() => normalizeAddress("fax" as Channel, "1"), /current channel is 'fax'/);
});
