// Every real peer an integration test talks to, started together and stopped with one call.
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlPlane.js';
import { startFakeGcs, type FakeGcs } from './fakeGcs.js';

export interface Peers {
  controlPlane: ControlPlane;
  /** STORAGE_EMULATOR_HOST for @google-cloud/storage. */
  storageEmulatorHost: string;
  stop(): Promise<void>;
}

export async function startPeers(opts: ControlPlaneOptions = {}): Promise<Peers> {
  const [controlPlane, gcs] = await Promise.allSettled([startControlPlane(opts), startFakeGcs()]);
  if (controlPlane.status === 'rejected' || gcs.status === 'rejected') {
    await Promise.all([settledStop(controlPlane), settledStop(gcs)]);
    throw controlPlane.status === 'rejected' ? controlPlane.reason : (gcs as PromiseRejectedResult).reason;
  }
  return {
    controlPlane: controlPlane.value,
    storageEmulatorHost: gcs.value.storageEmulatorHost,
    stop: async () => {
      await Promise.all([controlPlane.value.stop(), gcs.value.stop()]);
    },
  };
}

async function settledStop(result: PromiseSettledResult<ControlPlane | FakeGcs>): Promise<void> {
  if (result.status === 'fulfilled') await result.value.stop();
}
