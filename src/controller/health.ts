// /healthz, /readyz and /metrics over plain HTTP.
import { createServer } from 'node:http';
import type { ControllerMetrics } from './metrics.js';

export interface HttpServerOptions {
  /** `host:port` or `:port` (all interfaces); port 0 picks a free one. */
  addr: string;
  metrics?: ControllerMetrics;
  healthy?: () => boolean;
  ready?: () => boolean;
  /** Lines added to the readiness answer (what is wrong, or what is worth knowing). */
  readyDetail?: () => string[];
}

export function parseAddr(addr: string): { host: string; port: number } {
  const match = /^(.*):(\d+)$/.exec(addr);
  if (!match) throw new Error(`expected host:port or :port, got ${JSON.stringify(addr)}`);
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
}

export async function startHttpServer(
  opts: HttpServerOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const probe = (ok: boolean, detail: string[] = []) => {
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
      res.end([ok ? 'ok' : 'not ready', ...detail].join('\n') + '\n');
    };
    if (path === '/healthz' && opts.healthy) return probe(opts.healthy());
    if (path === '/readyz' && opts.ready) return probe(opts.ready(), opts.readyDetail?.() ?? []);
    if (path === '/metrics' && opts.metrics) {
      const registry = opts.metrics.registry;
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    res.writeHead(404);
    res.end();
  });
  const { host, port } = parseAddr(opts.addr);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
