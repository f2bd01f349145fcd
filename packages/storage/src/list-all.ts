import type { ListOptions, ObjectInfo, ObjectStore } from './object-store.js';

/** Every object under `prefix`, in key order, following pages as needed. */
export async function* listAll(
  store: ObjectStore,
  prefix: string,
  options: Omit<ListOptions, 'delimiter'> = {},
): AsyncGenerator<ObjectInfo> {
  let startAfter = options.startAfter;
  for (;;) {
    const page = await store.list(prefix, {
      ...options,
      ...(startAfter === undefined ? {} : { startAfter }),
    });
    yield* page.objects;
    if (page.nextStartAfter === undefined) return;
    startAfter = page.nextStartAfter;
  }
}
