// Every real peer an integration test talks to, started together and stopped with one call: the control
// plane, fake-gcs-server and the Batch emulator (in-process, reached through the real client over gRPC).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmulator, type EmulatorOptions, type RunningEmulator } from '../../src/emulator/index.js';
import { trackCleanup, trackDirectory, untrackDirectory } from './cleanup.js';
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
  // The emulator's task folders live in a directory of ours, so that an interrupted run removes them too.
  const emulatorDir = mkdtempSync(join(tmpdir(), 'drmaa2-batch-emulator-'));
  trackDirectory(emulatorDir);
  const removeEmulatorDir = () => {
    rmSync(emulatorDir, { recursive: true, force: true });
    untrackDirectory(emulatorDir);
  };
  const started = await Promise.allSettled([
    startControlPlane(opts),
    startFakeGcs(),
    startEmulator({ stepMs: 20, workDir: emulatorDir, ...opts.emulator }),
  ]);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(
      started.map((r) => (r.status === 'fulfilled' ? (r.value as Stoppable).stop() : undefined)),
    );
    removeEmulatorDir();
    throw failed.reason;
  }
  const [controlPlane, gcs, emulator] = started.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [
    ControlPlane,
    FakeGcs,
    RunningEmulator,
  ];
  // The emulator runs tasks as processes of their own; stopping it kills them (synchronously, before it
  // awaits anything), which is what an interrupted run needs.
  const forgetEmulator = trackCleanup(() => void emulator.stop());
  return {
    controlPlane,
    storageEmulatorHost: gcs.storageEmulatorHost,
    emulator,
    stop: async () => {
      await Promise.all([controlPlane.stop(), gcs.stop(), emulator.stop()]);
      forgetEmulator();
      removeEmulatorDir();
    },
  };
}
