import { createHash } from 'node:crypto';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';

/** The headers `npm start` prints in development: a user token and a service API key. */
export interface DevelopmentHeaders {
  authorization?: string;
  'x-api-key'?: string;
}

// The README's first notification, one tab per step, written as the README writes them:
// unnamed. GraphiQL keeps the last operation name it ran across tabs, so a named first tab made
// the third one fail with "Cannot infer operation CreateCategory" when run after it.
const UPSERT_CATEGORY = `mutation {
  upsertCategory(input: { name: "security", requireAck: true, priority: URGENT }) {
    name
  }
}
`;
const SUBSCRIBE = `subscription {
  myNotifications {
    type
    cursor
    unseenCount
    notification {
      id
      title
      body
      priority
      seenAt
      acknowledgedAt
    }
  }
}
`;
const SEND = `mutation {
  sendNotification(
    input: {
      category: "security"
      recipientIds: ["dev-user"]
      title: "New sign-in"
      body: "Firefox on Linux"
    }
  ) {
    notification {
      id
    }
  }
}
`;

export interface GraphiQLPage {
  options: GraphiQLOptions;
  /** The page, with GraphiQL's scripts, styles and editor workers inline: no CDN, no internet. */
  render(): string;
  /** What the page needs and nothing more: its one inline script by hash, blob: workers. */
  contentSecurityPolicy(): string;
}

/**
 * GraphiQL from the installed @graphql-yoga/render-graphiql instead of Yoga's default page, which
 * loads everything from a public CDN (a blank page offline or under a strict policy). The options
 * do not change while the service runs, so the page is rendered once and its script hashed once,
 * when it is first asked for: it is 9 MB, and rendering it leaves far more garbage behind, which
 * an instance that never serves GraphiQL should not carry.
 */
export function createGraphiQLPage(developmentHeaders?: DevelopmentHeaders): GraphiQLPage {
  const { authorization, 'x-api-key': apiKey } = developmentHeaders ?? {};
  const headers = (value: Record<string, string> | undefined) =>
    value && JSON.stringify(value, null, 2);
  const userHeaders = headers(authorization ? { authorization } : undefined);
  const options: GraphiQLOptions = {
    title: 'Notifications',
    subscriptionsProtocol: 'WS',
    // The first tab's headers editor and every new tab start from these (GraphiQL does not show
    // a default tab's own headers until the user switches tabs).
    headers: userHeaders,
    defaultTabs: [
      { query: UPSERT_CATEGORY, headers: userHeaders },
      { query: SUBSCRIBE, headers: userHeaders },
      { query: SEND, headers: headers(apiKey ? { 'x-api-key': apiKey } : undefined) },
    ],
  };
  let page: { html: string; policy: string } | undefined;
  const rendered = () => (page ??= renderPage(options));
  return {
    options,
    render: () => rendered().html,
    contentSecurityPolicy: () => rendered().policy,
  };
}

function renderPage(options: GraphiQLOptions) {
  const html = renderGraphiQL(options);
  const script = html.slice(
    html.indexOf('<script>') + '<script>'.length,
    html.lastIndexOf('</script>'),
  );
  const scriptHash = createHash('sha256').update(script).digest('base64');
  return {
    html,
    policy: [
      "default-src 'none'",
      `script-src 'sha256-${scriptHash}'`,
      // The editor sets styles at run time; styles cannot run code.
      "style-src 'unsafe-inline'",
      // Fonts, icons and the favicon are data: URLs inside the bundle.
      'img-src data:',
      'font-src data:',
      // Monaco's language workers are made from strings in the page.
      'worker-src blob:',
      // Queries over HTTP and subscriptions over graphql-ws, to this service only.
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  };
}
