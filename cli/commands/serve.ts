// `enhance serve`: the app in a browser, from a server on 127.0.0.1 (see electron/serve/server.ts).
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createApiContext } from '../../electron/api/create-context.ts';
import { startServer } from '../../electron/serve/server.ts';
import { deviceOption, UsageError } from '../usage.ts';
import type { ProviderChoice } from '../../electron/engine/model-session.ts';

const defaultPort = 5173;
const rendererDir = fileURLToPath(new URL('../../out/renderer', import.meta.url));

function defaultDataDir(): string {
  const xdg = process.env.XDG_DATA_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share'), 'enhance');
}

const help = `usage: enhance serve [--port N] [--root DIR …] [--data DIR] [--device auto|gpu|cpu]

Serves the app to a browser on this machine at http://127.0.0.1:PORT/ and prints its URL, which
carries this run's secret token. The page may browse, read and write only inside the --root
folders, plus photos uploaded to it. On a remote box, forward the same port number, e.g.
ssh -L ${defaultPort}:127.0.0.1:${defaultPort} box (the server refuses other host names and ports).

  --port N      port to listen on (default ${defaultPort}; 0: any free port)
  --root DIR    a folder the page may use; repeat for more
  --data DIR    the app's own data: models, results, uploads (default ${defaultDataDir()})
  --device D    where jobs run: auto (default: a GPU when one works, never a software one), gpu or cpu
  --cpu         the same as --device cpu

Ctrl-C stops the server and cancels running jobs.
Exit status: 0 stopped, 1 could not start, 2 usage error.
`;

export async function run(argv: string[]): Promise<number> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  let values;
  let port: number;
  let roots: string[];
  let providers: ProviderChoice;
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' }, root: { type: 'string', multiple: true, default: [] }, data: { type: 'string' },
        device: { type: 'string' }, cpu: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      },
    }).values;
    if (values.help) {
      process.stdout.write(help);
      return 0;
    }
    port = values.port === undefined ? defaultPort : Number(values.port);
    if (values.port !== undefined && (!/^\d+$/.test(values.port) || port > 65535)) throw new UsageError(`--port must be an integer from 0 to 65535, not '${values.port}'`);
    roots = values.root.map((r) => resolve(r));
    providers = deviceOption(values.device, values.cpu);
    const notFolder = roots.find((r) => !existsSync(r) || !statSync(r).isDirectory());
    if (notFolder) throw new UsageError(`--root ${notFolder} is not a folder`);
  } catch (e) {
    if (!(e instanceof UsageError) && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw e;
    log(`enhance serve: ${(e as Error).message}  (enhance serve --help for the options)`);
    return 2;
  }

  let server;
  try {
    const ctx = createApiContext({ mode: 'browser', dataDir: resolve(values.data ?? defaultDataDir()), roots, providers });
    server = await startServer({ ctx, port, rendererDir });
  } catch (e) {
    const code = (e as { code?: string }).code;
    log(`enhance serve: ${code === 'EADDRINUSE' ? `port ${port} is in use; choose another with --port` : (e as Error).message}`);
    return 1;
  }
  if (!existsSync(join(rendererDir, 'index.html'))) log(`enhance serve: the page is not built yet; run \`npm run build:renderer\``);
  process.stdout.write(`Enhance is running at ${server.url}  (Ctrl-C to stop)\n`);

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop).off('SIGTERM', stop);
      // A second Ctrl-C while jobs wind down quits at once.
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', stop).on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}
