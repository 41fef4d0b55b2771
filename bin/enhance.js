#!/usr/bin/env node
// Runs the TypeScript CLI directly: the app ships its sources and tsx, so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../cli/enhance.ts');
