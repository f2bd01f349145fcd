import { redactText, SchedulerError, showValue } from '@s3-scheduler/core';
import type { S3Credentials } from './s3/s3-store.js';

/** The prefix used when a connection string names none (`memory://default` → `scheduler/`). */
export const DEFAULT_PREFIX = 'scheduler/';

/** The default connection string: the process-wide memory bucket `default`. */
export const DEFAULT_CONNECTION_STRING = 'memory://default/scheduler';

export interface MemoryConnection {
  scheme: 'memory';
  bucket: string;
  /** Always ends in `/`. */
  prefix: string;
  /** The connection string with any secret replaced by `***`. */
  redacted: string;
}

export interface S3Connection {
  scheme: 's3';
  bucket: string;
  /** Always ends in `/`. */
  prefix: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /**
   * Credentials from the URL (URL-decoded), or absent for the AWS default chain. Not
   * enumerable, so `JSON.stringify` and `util.inspect` of the settings never show the secret.
   */
  readonly credentials?: S3Credentials;
  /** The connection string with the secret replaced by `***`. */
  redacted: string;
}

export type ConnectionSettings = MemoryConnection | S3Connection;

/** No real connection string comes near this; longer input is refused before it is parsed. */
export const MAX_CONNECTION_STRING_LENGTH = 4096;

const S3_PARAMS = new Set(['region', 'endpoint', 'forcePathStyle', 'sessionToken']);
const S3_BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/;

/**
 * Parses `memory://<bucket>/<prefix>` or
 * `s3://<accessKey>:<secretKey>@<bucket>/<prefix>?region=…&endpoint=…&forcePathStyle=true`, plus
 * `&sessionToken=…` for temporary credentials (with key and secret; never shown in any message).
 * Synchronous and offline, so a constructor can reject a malformed string where the user wrote
 * it. Every error names the offending value with the secret redacted, and suggests a fix.
 */
export function parseConnectionString(connectionString: string): ConnectionSettings {
  if (typeof connectionString !== 'string') {
    throw invalid(showValue(connectionString), `expected a string, got ${showValue(connectionString)}`);
  }
  if (connectionString.length > MAX_CONNECTION_STRING_LENGTH) {
    throw invalid(
      redactConnectionString(connectionString),
      `longer than ${MAX_CONNECTION_STRING_LENGTH} characters (${connectionString.length})`,
    );
  }
  const redacted = redactConnectionString(connectionString);
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(.*)$/s.exec(connectionString.trim());
  if (!match) throw invalid(redacted, 'not a URL of the form scheme://bucket/prefix');
  const scheme = match[1]!.toLowerCase();
  const rest = match[2]!;
  if (scheme !== 'memory' && scheme !== 's3') {
    throw invalid(redacted, `unknown scheme '${scheme}'`, {
      suggestion: `Use memory://<bucket>/<prefix> or s3://<accessKey>:<secretKey>@<bucket>/<prefix>?region=…&endpoint=….`,
    });
  }
  const { userinfo, hostAndPath } = splitUserinfo(rest);
  const queryAt = hostAndPath.indexOf('?');
  const location = queryAt < 0 ? hostAndPath : hostAndPath.slice(0, queryAt);
  const query = queryAt < 0 ? '' : hostAndPath.slice(queryAt + 1);
  const slash = location.indexOf('/');
  const bucket = slash < 0 ? location : location.slice(0, slash);
  const prefix = parsePrefix(slash < 0 ? '' : location.slice(slash + 1), redacted);

  if (scheme === 'memory') {
    if (userinfo !== undefined) throw invalid(redacted, 'a memory:// store takes no credentials');
    if (query !== '') throw invalid(redacted, 'a memory:// store takes no query parameters');
    if (bucket === '')
      throw invalid(redacted, 'the bucket name is missing', {
        suggestion: `Write ${DEFAULT_CONNECTION_STRING}.`,
      });
    return { scheme, bucket: decode(bucket, redacted, 'bucket'), prefix, redacted };
  }

  if (bucket === '') {
    throw invalid(redacted, 'the bucket name is missing', {
      suggestion:
        'Write s3://<accessKey>:<secretKey>@<bucket>/<prefix> (the bucket comes right after the @).',
    });
  }
  if (bucket.includes(':')) {
    // Probably "key:secret/bucket" without the @: never echo what may be the secret.
    throw invalid(redacted, 'credentials must end with @ before the bucket name', {
      suggestion: 'Write s3://<accessKey>:<secretKey>@<bucket>/<prefix>, with key and secret URL-encoded.',
    });
  }
  if (!S3_BUCKET.test(bucket)) {
    throw invalid(redacted, `'${clip(bucket, 70)}' is not a valid bucket name`, {
      suggestion:
        'Bucket names have 3-63 letters, digits, dots or hyphens. Give the server as ?endpoint=http://host:port.',
    });
  }
  const settings: S3Connection = { scheme, bucket, prefix, redacted };
  let sessionToken: string | undefined;
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = decode(eq < 0 ? part : part.slice(0, eq), redacted, 'parameter name');
    const value = decode(eq < 0 ? '' : part.slice(eq + 1), redacted, name);
    if (!S3_PARAMS.has(name)) {
      throw invalid(redacted, `unknown parameter '${clip(name, 40)}'`, {
        suggestion:
          'Known parameters: region, endpoint, forcePathStyle, sessionToken. Credentials go before the @, URL-encoded.',
      });
    }
    if (name === 'region') {
      if (!/^[a-z0-9-]+$/i.test(value))
        throw invalid(redacted, `region '${clip(value, 40)}' is not a region name`);
      settings.region = value;
    } else if (name === 'endpoint') {
      settings.endpoint = parseEndpoint(value, redacted);
    } else if (name === 'sessionToken') {
      // Never shown: the message holds `redacted`, where every sessionToken value is `***`.
      if (value === '') throw invalid(redacted, 'sessionToken is empty');
      sessionToken = value;
    } else {
      if (value !== 'true' && value !== 'false') {
        throw invalid(redacted, `forcePathStyle must be true or false, not '${clip(value, 40)}'`);
      }
      settings.forcePathStyle = value === 'true';
    }
  }
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    if (colon <= 0 || colon === userinfo.length - 1) {
      throw invalid(redacted, 'credentials must be <accessKey>:<secretKey>, both non-empty', {
        suggestion:
          'URL-encode the key and secret (encodeURIComponent), or leave both out to use the AWS default credential chain.',
      });
    }
    const credentials: S3Credentials = {
      accessKeyId: decode(userinfo.slice(0, colon), redacted, 'access key'),
      secretAccessKey: decode(userinfo.slice(colon + 1), redacted, 'secret key'),
      ...(sessionToken === undefined ? {} : { sessionToken }),
    };
    Object.defineProperty(settings, 'credentials', { value: credentials, enumerable: false });
  } else if (sessionToken !== undefined) {
    throw invalid(redacted, 'a sessionToken needs the access key and secret before the @', {
      suggestion:
        'Temporary credentials are three parts: write s3://<accessKeyId>:<secretAccessKey>@<bucket>/<prefix>?sessionToken=<token>, each URL-encoded.',
    });
  }
  return settings;
}

/**
 * The connection string with every secret replaced by `***`, also when the string is malformed
 * (an unencoded `/` in a secret, a missing `@`): the secret key, the value of any query
 * parameter but `region` and `forcePathStyle` (a `sessionToken=…` above all), and credentials inside the `endpoint` in any encoding. Long strings are cut first.
 */
export function redactConnectionString(connectionString: string): string {
  const full = typeof connectionString === 'string' ? connectionString : showValue(connectionString);
  const text = full.length > 300 ? full.slice(0, 300) : full;
  const cutNote = full.length > 300 ? `… (${full.length - 300} more characters)` : '';
  const schemeEnd = text.indexOf('://');
  if (schemeEnd < 0) {
    // Not a URL at all: it may still hold a secret, so show only its shape.
    return text.includes(':') || text.includes('@') || text.includes('=')
      ? `${text.slice(0, 8)}…(redacted)`
      : full.length > 300
        ? `${text}${cutNote}`
        : text;
  }
  const head = text.slice(0, schemeEnd + 3);
  const rest = text.slice(schemeEnd + 3);
  const { userinfo, hostAndPath } = splitUserinfo(rest);
  let out: string;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    out = `${head}${user}:***@${redactQuery(hostAndPath)}`;
  } else {
    // No '@': a "key:secret/bucket" typo would leave the secret in the authority.
    const authorityEnd = rest.search(/[/?#]/);
    const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
    out = authority.includes(':')
      ? `${head}${authority.slice(0, authority.indexOf(':'))}:***${redactQuery(rest.slice(authority.length))}`
      : `${head}${redactQuery(rest)}`;
  }
  // If the cut fell inside the query, the last value may be a partial secret: it was masked above
  // unless it is a region or forcePathStyle value.
  return `${redactText(out)}${cutNote}`;
}

/** `path?a=b&c=d` with every parameter value masked but those known not to be secret. */
function redactQuery(hostAndPath: string): string {
  const queryAt = hostAndPath.indexOf('?');
  if (queryAt < 0) return hostAndPath;
  const parts = hostAndPath
    .slice(queryAt + 1)
    .split('&')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) return part;
      const name = safeDecode(part.slice(0, eq));
      const value = part.slice(eq + 1);
      if (name === 'region' || name === 'forcePathStyle') return part;
      if (name === 'endpoint')
        return `${part.slice(0, eq)}=${encodeURIComponent(redactEndpoint(safeDecode(value)))}`;
      return value === '' ? part : `${part.slice(0, eq)}=***`;
    });
  return `${hostAndPath.slice(0, queryAt)}?${parts.join('&')}`;
}

/** An endpoint URL without its credentials, whether or not it parses: all before an `@` is masked. */
function redactEndpoint(endpoint: string): string {
  const at = endpoint.lastIndexOf('@');
  if (at < 0) return redactText(endpoint, 300);
  const scheme = /^[a-z][a-z0-9+.-]{0,20}:\/\//i.exec(endpoint)?.[0] ?? '';
  return redactText(`${scheme}***@${endpoint.slice(at + 1)}`, 300);
}

/** Text shown inside a message, cut so a hostile string stays short. */
function clip(text: string, maxLength = 100): string {
  return text.length <= maxLength ? text : `${text.slice(0, maxLength)}…`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Finds the credentials before the `@`. Leniently, a secret with an unencoded `/` (common in
 * AWS secrets) still parses: the last `@` before the query counts when what precedes it has a
 * `:`.
 */
function splitUserinfo(rest: string): { userinfo: string | undefined; hostAndPath: string } {
  const beforeQuery = rest.split('?', 1)[0]!;
  const authority = beforeQuery.split('/', 1)[0]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0) return { userinfo: rest.slice(0, at), hostAndPath: rest.slice(at + 1) };
  const lastAt = beforeQuery.lastIndexOf('@');
  if (lastAt >= 0 && beforeQuery.slice(0, lastAt).includes(':')) {
    return { userinfo: rest.slice(0, lastAt), hostAndPath: rest.slice(lastAt + 1) };
  }
  return { userinfo: undefined, hostAndPath: rest };
}

function parsePrefix(path: string, redacted: string): string {
  const decoded = decode(path, redacted, 'prefix');
  if (decoded === '' || decoded === '/') return DEFAULT_PREFIX;
  const segments = decoded.replace(/\/+$/, '').split('/');
  if (segments.some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw invalid(redacted, `prefix '${clip(decoded)}' has an empty, '.' or '..' segment`, {
      suggestion: 'Use a prefix such as scheduler/ or teams/billing/scheduler/.',
    });
  }
  return `${segments.join('/')}/`;
}

function parseEndpoint(value: string, redacted: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(redacted, `endpoint '${clip(redactEndpoint(value))}' is not a URL`, {
      suggestion:
        'Give the server with its scheme, such as endpoint=http://127.0.0.1:7480 (URL-encode it if it has a path).',
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(redacted, `endpoint '${clip(redactEndpoint(value))}' must be http:// or https://`);
  }
  if (url.username || url.password) {
    throw invalid(redacted, 'the endpoint must not carry credentials', {
      suggestion: 'Put the access key and secret before the @ of the s3:// URL.',
    });
  }
  return url.href.replace(/\/$/, '');
}

function decode(text: string, redacted: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Never echo the undecodable text itself: it may be part of the secret.
    throw invalid(redacted, `the ${what} is not valid URL encoding`, {
      suggestion: 'Encode special characters with encodeURIComponent (a literal % is %25).',
    });
  }
}

function invalid(redacted: string, problem: string, extra: { suggestion?: string } = {}): SchedulerError {
  return new SchedulerError(`Invalid connection string '${redacted}': ${problem}`, {
    code: 'INVALID_CONNECTION_STRING',
    operation: 'connect',
    metadata: { connectionString: redacted, problem },
    suggestion:
      extra.suggestion ??
      `Use ${DEFAULT_CONNECTION_STRING} or s3://<accessKey>:<secretKey>@<bucket>/<prefix>?region=…&endpoint=…&forcePathStyle=true.`,
  });
}
