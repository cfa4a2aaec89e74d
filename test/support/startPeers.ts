// Every real peer an integration test talks to, started together and stopped with one call: the control
// plane, fake-gcs-server and the Batch emulator (in-process, reached through the real client over gRPC).
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlPlane.js';
import { startFakeGcs, type FakeGcs } from './fakeGcs.js';

export interface Peers {
  controlPlane: ControlPlane;
  /** STORAGE_EMULATOR_HOST for @google-cloud/storage. */
  storageEmulatorHost: string;
  emulator: RunningEmulator;
  stop(): Promise<void>;
}

export interface PeersOptions extends ControlPlaneOptions {
  emulator?: EmulatorOptions;
}

type Stoppable = { stop(): Promise<void> };

export async function startPeers(opts: PeersOptions = {}): Promise<Peers> {
  const started = await Promise.allSettled([
    startControlPlane(opts),
    startFakeGcs(),
    startEmulator({ stepMs: 20, ...opts.emulator }),
  ]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(
      started.map((r) => (r.status === 'fulfilled' ? (r.value as Stoppable).stop() : undefined)),
    );
    throw failed.reason;
  }
  const [controlPlane, gcs, emulator] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    ControlPlane,
    FakeGcs,
    RunningEmulator,
  ];
  return {
    controlPlane,
    storageEmulatorHost: gcs.storageEmulatorHost,
    emulator,
    stop: async () => {
      await Promise.all([controlPlane.stop(), gcs.stop(), emulator.stop()]);
    },
  };
}
