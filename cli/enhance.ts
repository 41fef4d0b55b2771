// `enhance <command> …`: one entry point over the same core the app uses.
interface Command {
  summary: string;
  load: () => Promise<{ run(argv: string[]): Promise<number> }>;
}

const commands: Record<string, Command> = {
  train: { summary: 'train or fine-tune a model on a folder of photos', load: () => import('./commands/train.ts') },
  pretrain: { summary: 'pretrain an encoder: a classifier on labelled photos, or self-supervised on your own', load: () => import('./commands/pretrain.ts') },
  upscale: { summary: 'upscale a folder of photos ×2 or ×4', load: async () => (await import('./commands/enhance-folder.ts')).command('upscale') },
  decrappify: { summary: 'remove JPEG artifacts from a folder of photos', load: async () => (await import('./commands/enhance-folder.ts')).command('decrappify') },
  colorize: { summary: 'colorize a folder of black-and-white photos', load: async () => (await import('./commands/enhance-folder.ts')).command('colorize') },
  serve: { summary: 'serve the app to a browser on this machine (127.0.0.1, with a per-run token)', load: () => import('./commands/serve.ts') },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `usage: enhance <command> [options]   (enhance <command> --help for its options)\n\n${rows.join('\n')}\n`;
}

const [name, ...rest] = process.argv.slice(2);
const command = name === undefined ? undefined : commands[name];
if (!command) {
  process.stderr.write(name && name !== '--help' ? `enhance: unknown command '${name}'\n\n${usage()}` : usage());
  process.exitCode = name && name !== '--help' ? 2 : 0;
} else {
  process.exitCode = await (await command.load()).run(rest);
}
