// Test support shared by the memory and real-S3 suites (not part of the package: `*.test.*`).
import type { Clock } from '@s3-scheduler/core';
import type { ObjectStore, StoreOperation } from '@s3-scheduler/storage';
import { GatedStore as PausableStore } from '@s3-scheduler/storage/testing';
import { Coordinator, type CoordinatorOptions } from './index.js';

/**
 * A store whose requests hang while paused (a GC pause or a partition), like storage's
 * `GatedStore`, but that fails them once crashed, so a crashed node's loops end quickly.
 */
export class GatedStore extends PausableStore {
  #crashed = false;

  /** The process dies: every request from now on fails. */
  crash(): void {
    this.#crashed = true;
  }

  protected override around<T>(
    operation: StoreOperation,
    key: string,
    request: () => Promise<T>,
  ): Promise<T> {
    if (this.#crashed) return Promise.reject(new Error('process is dead'));
    return super.around(operation, key, request);
  }
}

export interface Node {
  id: string;
  gate: GatedStore;
  coordinator: Coordinator;
}

/** Promotions, demotions and every invariant violation seen, across a whole cluster. */
export interface Journal {
  promotions: { workerId: string; epoch: number; at: number }[];
  demotions: { workerId: string; epoch: number; reason: string; at: number }[];
  violations: string[];
}

/**
 * Coordinators sharing `store`, each behind its own gate, with invariant checks wired to their
 * events: nobody else may be leader when one is promoted; one leader per epoch; epochs grow.
 */
export function createCluster(
  ids: string[],
  store: ObjectStore,
  clock: Clock | ((id: string) => Clock),
  options: Partial<CoordinatorOptions> = {},
): { nodes: Node[]; journal: Journal; leaders(): Node[]; add(id: string): Node } {
  const nodes: Node[] = [];
  const journal: Journal = { promotions: [], demotions: [], violations: [] };
  const epochOwner = new Map<number, string>();
  const add = (id: string): Node => {
    const gate = new GatedStore(store);
    const nodeClock = typeof clock === 'function' ? clock(id) : clock;
    const coordinator = new Coordinator({ store: gate, clock: nodeClock, workerId: id, ...options });
    const node = { id, gate, coordinator };
    coordinator.on('coordinator-promoted', ({ workerId, epoch }) => {
      const others = nodes.filter((other) => other !== node && other.coordinator.isLeader());
      if (others.length)
        journal.violations.push(
          `${workerId} promoted (epoch ${epoch}) while ${others.map((o) => o.id)} lead`,
        );
      const owner = epochOwner.get(epoch);
      if (owner !== undefined && owner !== workerId)
        journal.violations.push(`epoch ${epoch} had ${owner} and ${workerId}`);
      const last = journal.promotions.at(-1);
      if (last && epoch <= last.epoch) journal.violations.push(`epoch went from ${last.epoch} to ${epoch}`);
      epochOwner.set(epoch, workerId);
      if (!coordinator.isLeader() || coordinator.signal.aborted)
        journal.violations.push(`${workerId} promoted but not leader`);
      journal.promotions.push({ workerId, epoch, at: nodeClock.monotonic() });
    });
    coordinator.on('coordinator-demoted', ({ workerId, epoch, reason }) => {
      if (coordinator.isLeader() || !coordinator.signal.aborted)
        journal.violations.push(`${workerId} demoted but still leader`);
      journal.demotions.push({ workerId, epoch, reason, at: nodeClock.monotonic() });
    });
    nodes.push(node);
    return node;
  };
  for (const id of ids) add(id);
  return { nodes, journal, leaders: () => nodes.filter((node) => node.coordinator.isLeader()), add };
}
