// A small loopback HTTP endpoint to look inside the emulator and change its faults at run time:
// GET /admin/stats, GET /admin/jobs[?label=key=value], POST /admin/faults {faults?, quota?} (faults replace
// the ones in force, job faults included; a malformed one is answered 400 and changes nothing).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Engine } from './engine.js';
import type { FaultConfig, FaultInjector, Quota } from './faults.js';
import type { CallStats } from './server.js';

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
      if (body.length > 1 << 20) reject(new Error('body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export async function startAdmin(
  host: string,
  port: number,
  engine: Engine,
  faults: FaultInjector,
  stats: CallStats,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/admin/stats') {
      return reply(200, { calls: stats.calls, jobs: engine.all().length, ...faults.current() });
    }
    if (req.method === 'GET' && url.pathname === '/admin/jobs') {
      const [key, value] = (url.searchParams.get('label') ?? '').split('=');
      const jobs = engine.all().filter((j) => !key || j.labels?.[key] === value);
      return reply(200, { jobs });
    }
    if (req.method === 'POST' && url.pathname === '/admin/faults') {
      readBody(req).then(
        (text) => {
          try {
            const body = JSON.parse(text || '{}') as { faults?: FaultConfig; quota?: Quota | null };
            if (body.faults) faults.set(body.faults);
            if (body.quota !== undefined) faults.setQuota(body.quota ?? undefined);
            reply(200, faults.current());
          } catch (err) {
            reply(400, { error: String(err) });
          }
        },
        (err: unknown) => reply(400, { error: String(err) }),
      );
      return;
    }
    reply(404, { error: 'not found' });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return { server, url: `http://${host}:${actual}` };
}
