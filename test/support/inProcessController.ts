// The controller in the test's own process, against a file's peers, as its shipped ServiceAccount: the
// flags every such test gives (a fast poll, ports of its own choosing) plus the test's.
import { pino } from 'pino';
import { runController, type RunningController } from '../../src/cli/controller.js';
import { parseConfig, type ControllerFlags } from '../../src/controller/config.js';
import type { Peers } from './startPeers.js';

export async function startInProcessController(
  peers: Peers,
  flags: ControllerFlags,
  env: Record<string, string> = {},
): Promise<RunningController> {
  const parsed = parseConfig(
    {
      kubeconfig: peers.controlPlane.kubeconfigController,
      pollInterval: '500ms',
      metricsAddr: '127.0.0.1:0',
      healthAddr: '127.0.0.1:0',
      ...flags,
    },
    { BATCH_EMULATOR_HOST: peers.emulator.host, STORAGE_EMULATOR_HOST: peers.storageEmulatorHost, ...env },
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return runController(parsed.config, pino({ level: process.env.DRMAA2_TEST_LOG ?? 'silent' }));
}
