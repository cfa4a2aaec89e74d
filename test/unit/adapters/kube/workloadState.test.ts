// What a Workload as Kueue writes it says to the controller (stateOf): above all when an eviction is still to
// be acted on. Kueue leaves Evicted=True after the owner cleared the reservation, until the next admission;
// read as pending, every later pass would clear an admission that is no longer there.
import { describe, expect, it } from 'vitest';
import { stateOf, type RawWorkload } from '../../../../src/adapters/kube/workloads.js';

const at = (time: string) => `2026-12-02T10:00:${time}Z`;

function workload(
  conditions: { type: string; status: string; time: string; reason?: string }[],
): RawWorkload {
  return {
    metadata: { name: 'wl' },
    spec: { active: true, queueName: 'lq' },
    status: {
      conditions: conditions.map((c) => ({
        type: c.type,
        status: c.status,
        reason: c.reason ?? 'R',
        message: `${c.type} message`,
        lastTransitionTime: at(c.time),
      })),
    },
  };
}

describe('stateOf', () => {
  it('an eviction whose reservation stands is pending, with Kueue’s reason and message', () => {
    const state = stateOf(
      workload([
        { type: 'QuotaReserved', status: 'True', time: '00' },
        { type: 'Admitted', status: 'True', time: '00' },
        { type: 'Evicted', status: 'True', time: '05', reason: 'Preempted' },
      ]),
    );
    expect(state.evicted).toEqual({ reason: 'Preempted', message: 'Evicted message' });
    expect(state.queueName).toBe('lq');
  });

  it('once the reservation is cleared (requeued), Evicted=True no longer asks for anything', () => {
    const state = stateOf(
      workload([
        { type: 'QuotaReserved', status: 'False', time: '06', reason: 'Pending' },
        { type: 'Admitted', status: 'False', time: '06' },
        { type: 'Evicted', status: 'True', time: '05', reason: 'Preempted' },
      ]),
    );
    expect(state.evicted).toBeUndefined();
    expect(state.admitted).toBe(false);
    expect(state.pendingMessage).toBe('QuotaReserved message');
  });

  it('reserved again after the eviction: the new admission stands', () => {
    const state = stateOf(
      workload([
        { type: 'QuotaReserved', status: 'True', time: '09' },
        { type: 'Admitted', status: 'True', time: '09' },
        { type: 'Evicted', status: 'True', time: '05', reason: 'Preempted' },
      ]),
    );
    expect(state.evicted).toBeUndefined();
    expect(state.admitted).toBe(true);
  });
});
