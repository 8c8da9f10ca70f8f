// The client side of tests/gateway/http/test_apollo_client.py: Apollo Client with its
// persisted queries link (hashes first, the text only when the gateway asks for it, GET for
// hashed queries) runs the app's two operations against the gateway at argv[2], and prints
// what happened as one JSON line. argv[3] = "adhoc" also sends a document outside the app.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { ApolloClient, InMemoryCache, HttpLink, gql } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";

const [, , url, mode] = process.argv;
const sent = [];
const fetchLogged = async (input, init) => {
  const method = init?.method ?? "GET";
  const target = new URL(typeof input === "string" ? input : input.url);
  const body = init?.body ? JSON.parse(init.body) : null;
  sent.push({
    method,
    hashOnly: method === "GET" ? !target.searchParams.has("query") : !body?.query,
  });
  return fetch(input, init);
};
const link = new PersistedQueryLink({
  sha256: (text) => createHash("sha256").update(text).digest("hex"),
  useGETForHashedQueries: true,
}).concat(new HttpLink({ uri: url, fetch: fetchLogged }));
const client = new ApolloClient({ link, cache: new InMemoryCache() });
const load = (file) => gql(readFileSync(new URL(`./src/${file}`, import.meta.url), "utf8"));
const operations = { ContactForm: load("contact-form.graphql"), SaveContact: load("save-contact.graphql") };
const only = (name) => operations[name];

const out = { requests: sent };
const form = await client.query({ query: only("ContactForm"), fetchPolicy: "network-only" });
out.providers = form.data.providers.map((p) => p.provider);
out.heymarketFields = form.data.heymarketFields.map((f) => f.key);
const saved = await client.mutate({
  mutation: only("SaveContact"),
  variables: { provider: "TRACKLY", contact: { phone: "(415) 555-2671" } },
});
out.saved = saved.data.upsertContact;
if (mode === "adhoc") {
  try {
    await client.query({ query: gql`query Adhoc { providers { configured } }` });
    out.adhoc = "ran";
  } catch (error) {
    const errors = error.errors ?? error.graphQLErrors ?? [];
    out.adhoc = errors.map((e) => e.extensions?.code ?? e.message);
    if (!out.adhoc.length) out.adhoc = [String(error.message)];
  }
}
console.log(JSON.stringify(out));
