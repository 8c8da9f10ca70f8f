// The gateway's playground: GraphiQL with the explorer, ready examples, sandbox hints and an
// API-key field. Settings come from the page's JSON block; every request goes to this origin.
import { setNonce } from 'get-nonce';
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { GraphiQL } from 'graphiql';
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { useEditorContext } from '@graphiql/react';
import { getOperationAST, parse } from 'graphql';
import { createClient } from 'graphql-ws';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import './playground.css';

const settings = JSON.parse(document.getElementById('playground-settings').textContent);
// Radix UI's injected <style> must carry the nonce the page's CSP names.
setNonce(settings.styleNonce);

const KEY_STORAGE = 'contact-gateway.playground.api-key';

function readKey() {
  try {
    return window.sessionStorage.getItem(KEY_STORAGE) ?? '';
  } catch {
    return '';
  }
}

function storeKey(key) {
  try {
    if (key) window.sessionStorage.setItem(KEY_STORAGE, key);
    else window.sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Storage refused (private mode): the key lives in memory for this page only.
  }
}

// Sent with every request: in sandbox mode a safelist (persisted_operations_only) lets the
// playground's own documents through; elsewhere the header changes nothing.
const PLAYGROUND_HEADER = 'x-gateway-playground';

// Subscriptions (an import's progress) go over a WebSocket to the same origin, speaking
// graphql-transport-ws; the key, if any, travels in connection_init's payload.
function subscriptionClient(apiKey) {
  const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
  return createClient({
    url: `${scheme}://${window.location.host}${settings.endpoint}`,
    connectionParams: apiKey ? { Authorization: `Bearer ${apiKey}` } : {},
    lazy: true,
  });
}

function isSubscription(params) {
  try {
    return getOperationAST(parse(params.query), params.operationName)?.operation === 'subscription';
  } catch {
    return false; // not a document it can read: the gateway says what is wrong with it
  }
}

function makeFetcher(apiKey) {
  let sockets = null;
  return async (params, options) => {
    if (isSubscription(params)) {
      sockets ??= subscriptionClient(apiKey);
      return sockets.iterate(params);
    }
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      [PLAYGROUND_HEADER]: '1',
    };
    for (const [name, value] of Object.entries(options?.headers ?? {})) headers[name] = value;
    const named = Object.keys(headers).some((name) => name.toLowerCase() === 'authorization');
    if (apiKey && !named) headers.Authorization = `Bearer ${apiKey}`;
    const response = await fetch(settings.endpoint, {
      method: 'POST',
      headers,
      body: JSON.stringify(params),
      credentials: 'same-origin',
    });
    const text = await response.text();
    try {
      return JSON.parse(text);
    } catch {
      return { errors: [{ message: `HTTP ${response.status}: ${text.slice(0, 500)}` }] };
    }
  };
}

const CAPABILITIES = `{
  providers {
    provider label: provider configured
    capabilities { contactKey requiredFields maxTags statuses fields { field stored providerField note } }
  }
}`;

function catalogueQuery(provider) {
  return `{ fields: customFieldDefinitions(provider: ${provider}) { key label required }
  tags(provider: ${provider}) }`;
}

// What each configured provider stores and which custom fields and tags its account has,
// read from the gateway (the same declarations and catalogues its writes use).
function useProviderFacts() {
  const [facts, setFacts] = useState({});
  useEffect(() => {
    const fetcher = makeFetcher(readKey());
    let live = true;
    (async () => {
      const answer = await fetcher({ query: CAPABILITIES });
      const providers = (answer.data?.providers ?? []).filter((p) => p.configured);
      const found = {};
      for (const provider of providers) {
        const catalogue = await fetcher({ query: catalogueQuery(provider.provider) });
        found[provider.provider] = { ...provider, catalogue: catalogue.data, error: catalogue.errors?.[0]?.message };
      }
      if (live) setFacts(found);
    })().catch(() => {});
    return () => {
      live = false;
    };
  }, []);
  return facts;
}

function ProviderFacts({ facts }) {
  const stored = facts.capabilities.fields.filter((f) => f.stored);
  const skipped = facts.capabilities.fields.filter((f) => !f.stored);
  return (
    <dd data-testid={`facts-${facts.provider}`}>
      <strong>Key</strong> {facts.capabilities.contactKey}; required: {facts.capabilities.requiredFields.join(', ')}
      {facts.capabilities.maxTags !== null && <>; at most {facts.capabilities.maxTags} tags</>}
      <ul>
        <li>
          <strong>Stores</strong>{' '}
          {stored.map((f) => `${f.field} → ${f.providerField}`).join('; ')}
        </li>
        <li>
          <strong>Not stored</strong> {skipped.map((f) => f.field).join(', ') || 'nothing'}
        </li>
        <li>
          <strong>Custom fields</strong>{' '}
          {facts.error
            ? facts.error
            : facts.catalogue?.fields.length
              ? facts.catalogue.fields.map((f) => f.key + (f.required ? ' (required)' : '')).join(', ')
              : 'free-form: any key'}
        </li>
        {facts.catalogue?.tags.length > 0 && (
          <li>
            <strong>Tags</strong> {facts.catalogue.tags.join(', ')}
          </li>
        )}
      </ul>
    </dd>
  );
}

function pretty(variables) {
  return JSON.stringify(variables, null, 2);
}

function ExamplesPanel() {
  const { addTab, queryEditor, variableEditor } = useEditorContext({ nonNull: true });
  const open = (example) => {
    addTab();
    // The new tab fills its editors when React renders it; write the example after that.
    window.setTimeout(() => {
      queryEditor?.setValue(example.query);
      variableEditor?.setValue(pretty(example.variables));
    }, 0);
  };
  const providers = [...new Set(settings.examples.map((example) => example.label))];
  const facts = useProviderFacts();
  return (
    <div className="pg-panel" data-testid="examples-panel">
      <div className="graphiql-doc-explorer-title">Examples</div>
      {providers.length === 0 && <p>No configured provider has examples yet.</p>}
      {providers.map((label) => (
        <section key={label}>
          <h3>{label}</h3>
          <ul>
            {settings.examples
              .filter((example) => example.label === label)
              .map((example) => (
                <li key={example.name}>
                  <button type="button" className="pg-link" onClick={() => open(example)}>
                    {example.name}
                  </button>
                  <span className="pg-note">{example.note}</span>
                </li>
              ))}
          </ul>
        </section>
      ))}
      {Object.keys(facts).length > 0 && (
        <section data-testid="provider-facts">
          <h3>What each provider stores</h3>
          <dl>
            {Object.values(facts).map((provider) => (
              <div key={provider.provider}>
                <dt className="pg-provider">{provider.provider}</dt>
                <ProviderFacts facts={provider} />
              </div>
            ))}
          </dl>
        </section>
      )}
      {settings.hints.length > 0 && (
        <section data-testid="sandbox-hints">
          <h3>What the sandbox knows</h3>
          {settings.hints.map((provider) => (
            <dl key={provider.provider}>
              <dt className="pg-provider">{provider.label}</dt>
              {provider.items.map((item) => (
                <dd key={item.label}>
                  <strong>{item.label}</strong>
                  <ul>
                    {item.values.map((value) => (
                      <li key={value}>{value}</li>
                    ))}
                  </ul>
                </dd>
              ))}
            </dl>
          ))}
        </section>
      )}
    </div>
  );
}

function ExamplesIcon() {
  return (
    <svg viewBox="0 0 24 24" width="1em" height="1em" fill="none" stroke="currentColor" strokeWidth="1.5">
      <path d="M4 5h16M4 12h16M4 19h10" />
    </svg>
  );
}

const PLUGINS = [{ title: 'Examples', icon: ExamplesIcon, content: ExamplesPanel }, explorerPlugin()];

// GraphiQL 4 sizes its plugin pane on the first render, before its `visiblePlugin` prop reaches
// the plugin store, so the pane stays closed; opening it the way a user would works.
function useExamplesOpenOnStart() {
  useEffect(() => {
    // After GraphiQL's own start-up effects, which reset the plugin store.
    const timer = window.setTimeout(() => {
      document.querySelector('.graphiql-sidebar button[aria-label="Show Examples"]')?.click();
    }, 0);
    return () => window.clearTimeout(timer);
  }, []);
}

function KeyForm({ apiKey, onChange }) {
  const [draft, setDraft] = useState('');
  return (
    <form
      className="pg-key"
      onSubmit={(event) => {
        event.preventDefault();
        onChange(draft.trim());
        setDraft('');
      }}
    >
      <label>
        API key{' '}
        <input
          type="password"
          autoComplete="off"
          value={draft}
          placeholder={apiKey ? 'key set for this tab' : 'Bearer key for /graphql'}
          onChange={(event) => setDraft(event.target.value)}
          data-testid="api-key"
        />
      </label>
      <button type="submit">Use key</button>
      {apiKey && (
        <button type="button" onClick={() => onChange('')}>
          Forget
        </button>
      )}
      <span className="pg-note" data-testid="key-status">
        {apiKey ? 'Sent as Authorization: Bearer; kept in this browser tab only.' : 'No key: requests get 401.'}
      </span>
    </form>
  );
}

function Playground() {
  const [apiKey, setApiKey] = useState(readKey);
  // A new fetcher makes GraphiQL introspect again, so a key entered later loads the schema.
  const fetcher = useMemo(() => makeFetcher(apiKey), [apiKey]);
  const defaultTabs = useMemo(
    () => settings.examples.map((example) => ({ query: example.query, variables: pretty(example.variables) })),
    [],
  );
  // GraphiQL 4 fills the first tab's variable editor from the `variables` prop, not from
  // defaultTabs; pass it only on a first visit, when defaultTabs are used at all.
  const [firstVisit] = useState(() => {
    try {
      return !window.localStorage.getItem('graphiql:tabState');
    } catch {
      return true;
    }
  });
  useExamplesOpenOnStart();
  const changeKey = (key) => {
    storeKey(key);
    setApiKey(key);
  };
  return (
    <div className="pg-root">
      <header className="pg-bar">
        <strong>Contact gateway</strong>
        {settings.sandbox && (
          <span className="pg-badge" title="Built-in provider simulators; no real provider is called">
            sandbox
          </span>
        )}
        {settings.authRequired && <KeyForm apiKey={apiKey} onChange={changeKey} />}
      </header>
      <div className="pg-graphiql">
        <GraphiQL
          fetcher={fetcher}
          defaultTabs={defaultTabs.length ? defaultTabs : undefined}
          variables={firstVisit && defaultTabs.length ? defaultTabs[0].variables : undefined}
          plugins={PLUGINS}
          defaultEditorToolsVisibility="variables"
          shouldPersistHeaders={false}
        />
      </div>
    </div>
  );
}

createRoot(document.getElementById('playground')).render(
  <StrictMode>
    <Playground />
  </StrictMode>,
);
