import { type Clock, SchedulerError } from '@s3-scheduler/core';
import { MemoryStore, type ObjectStore, openStore, S3Store } from '@s3-scheduler/storage';

/**
 * Where a host database (an s3db.js `Database`, given to `install(db)` or `usePlugin`) keeps its
 * objects, read from its client's configuration:
 * - `s3`: a bucket other processes can reach (`s3://…`, or `http(s)://key:secret@host/bucket/prefix`
 *   for MinIO, Ceph RGW and other S3-compatible servers);
 * - `memory`: the process-local `memory://bucket/prefix` backend;
 * - `unsupported`: a backend the scheduler cannot share (`file://`, `sqlite://`, RedDB, …): the
 *   database may be shared through it, but the scheduler cannot coordinate there.
 * `prefix` is the database's key prefix plus the plugin's (`<keyPrefix>/plugin=scheduler/`), the
 * layout of s3db's PluginStorage.
 */
export type HostStorage =
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      region: string | undefined;
      endpoint: string | undefined;
      forcePathStyle: boolean | undefined;
      /** Not enumerable: never printed with the rest. */
      readonly credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
      /** What error messages name: scheme, host, bucket and prefix, never a secret. */
      describe: string;
    }
  | { kind: 'memory'; bucket: string; prefix: string; describe: string }
  | { kind: 'unsupported'; describe: string };

/** s3db's default endpoint for `s3://` strings; the AWS SDK picks the right one from the region. */
const S3DB_DEFAULT_ENDPOINT = 'https://s3.us-east-1.amazonaws.com';

interface ClientConfig {
  bucket?: unknown;
  keyPrefix?: unknown;
  endpoint?: unknown;
  region?: unknown;
  accessKeyId?: unknown;
  secretAccessKey?: unknown;
  sessionToken?: unknown;
  forcePathStyle?: unknown;
  clientType?: unknown;
}

/**
 * Reads where `host` stores its objects; `undefined` when `host` is not an s3db.js-like database
 * (no `client.config` and no `connectionString`), such as a plain object given as `database`.
 * Prefers the connected client's configuration; before `db.connect()` the connection string.
 */
export function readHostStorage(host: unknown, pluginPrefix: string): HostStorage | undefined {
  if (typeof host !== 'object' || host === null) return undefined;
  const db = host as { client?: { config?: ClientConfig }; connectionString?: unknown };
  try {
    const config = db.client?.config;
    if (config && typeof config === 'object' && typeof config.bucket === 'string') {
      return fromClientConfig(config, pluginPrefix);
    }
    if (typeof db.connectionString === 'string')
      return fromConnectionString(db.connectionString, pluginPrefix);
    return undefined;
  } catch (error) {
    if (error instanceof SchedulerError) throw error;
    // A host whose properties throw when read (a Proxy, a getter with a bug): a coded error.
    throw new SchedulerError('The host database could not be read for its storage settings', {
      code: 'INVALID_OPTION',
      operation: 'start',
      metadata: { option: 'database' },
      suggestion: 'Install the plugin into an s3db.js database, or pass a store or connectionString.',
      cause: error,
    });
  }
}

function joinPrefix(hostPrefix: unknown, pluginPrefix: string): string {
  const base = typeof hostPrefix === 'string' ? hostPrefix.replace(/^\/+|\/+$/g, '') : '';
  const plugin = pluginPrefix.replace(/^\/+/, '');
  return base ? `${base}/${plugin}` : plugin;
}

function fromClientConfig(config: ClientConfig, pluginPrefix: string): HostStorage {
  const bucket = config.bucket as string;
  const prefix = joinPrefix(config.keyPrefix, pluginPrefix);
  const endpoint = typeof config.endpoint === 'string' ? config.endpoint : undefined;
  if (endpoint?.startsWith('memory:')) {
    return { kind: 'memory', bucket, prefix, describe: `memory://${bucket}/${prefix}` };
  }
  if (typeof config.clientType === 'string' || !endpoint || !/^https?:/i.test(endpoint)) {
    const kind = typeof config.clientType === 'string' ? config.clientType : (endpoint ?? 'unknown');
    return { kind: 'unsupported', describe: `${kind} backend (bucket '${bucket}')` };
  }
  const useDefault = endpoint === S3DB_DEFAULT_ENDPOINT;
  const settings: HostStorage = {
    kind: 's3',
    bucket,
    prefix,
    region: typeof config.region === 'string' ? config.region : undefined,
    endpoint: useDefault ? undefined : endpoint,
    forcePathStyle: typeof config.forcePathStyle === 'boolean' ? config.forcePathStyle : undefined,
    describe: `${useDefault ? 's3:/' : endpoint.replace(/\/+$/, '')}/${bucket}/${prefix}`,
  };
  if (
    typeof config.accessKeyId === 'string' &&
    config.accessKeyId &&
    typeof config.secretAccessKey === 'string'
  ) {
    Object.defineProperty(settings, 'credentials', {
      enumerable: false,
      value: {
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        ...(typeof config.sessionToken === 'string' && config.sessionToken
          ? { sessionToken: config.sessionToken }
          : {}),
      },
    });
  }
  return settings;
}

/** The same reading as s3db's `ConnectionString`, for a database not connected yet. */
function fromConnectionString(connectionString: string, pluginPrefix: string): HostStorage {
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    return { kind: 'unsupported', describe: 'an unreadable connection string' };
  }
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      return text;
    }
  };
  const path = url.pathname.split('/').filter(Boolean).map(decode);
  const credentials = {
    accessKeyId: decode(url.username),
    secretAccessKey: decode(url.password),
    sessionToken: url.searchParams.get('sessionToken') ?? undefined,
  };
  switch (url.protocol) {
    case 'memory:':
      return fromClientConfig(
        { bucket: decode(url.hostname) || 's3db', keyPrefix: path.join('/'), endpoint: 'memory://' },
        pluginPrefix,
      );
    case 's3:':
      return fromClientConfig(
        {
          bucket: decode(url.hostname) || 's3db',
          keyPrefix: path.join('/'),
          endpoint: S3DB_DEFAULT_ENDPOINT,
          region: url.searchParams.get('region') ?? 'us-east-1',
          ...credentials,
        },
        pluginPrefix,
      );
    case 'http:':
    case 'https:':
      return fromClientConfig(
        {
          bucket: path[0] ?? 's3db',
          keyPrefix: path.slice(1).join('/'),
          endpoint: url.origin,
          region: url.searchParams.get('region') ?? 'us-east-1',
          forcePathStyle: true,
          ...credentials,
        },
        pluginPrefix,
      );
    default:
      return { kind: 'unsupported', describe: `${url.protocol}// backend` };
  }
}

/**
 * Opens the scheduler's store inside the host's storage and runs the capability probe on it
 * (`STORE_UNSAFE`, `BUCKET_NOT_FOUND`, `ACCESS_DENIED` as from `connect()`). `unsupported`
 * storage has no store: the caller refuses to start.
 */
export async function openHostStore(
  host: Extract<HostStorage, { kind: 's3' | 'memory' }>,
  clock: Clock,
): Promise<ObjectStore> {
  if (host.kind === 'memory') {
    return openStore(new MemoryStore({ bucket: host.bucket, clock }), { clock, prefix: host.prefix });
  }
  const backend = new S3Store({
    bucket: host.bucket,
    ...(host.region === undefined ? {} : { region: host.region }),
    ...(host.endpoint === undefined ? {} : { endpoint: host.endpoint }),
    ...(host.forcePathStyle === undefined ? {} : { forcePathStyle: host.forcePathStyle }),
    ...(host.credentials === undefined ? {} : { credentials: host.credentials }),
  });
  return openStore(backend, { clock, prefix: host.prefix });
}

/** Whether a store keeps its objects in this process only (the embedded memory store). */
export function isProcessLocal(store: ObjectStore): boolean {
  return store.description.startsWith('memory://');
}
