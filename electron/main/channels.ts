// IPC channel names, derived from the API map so the main process and the preload cannot drift
// apart: a method that is not in `apiMethods` has no channel and fails `tsc`.
import type { ApiEventName, ApiMethodName } from '../../common/api.ts';
import type { EnhanceError } from '../../common/errors.ts';

export type ApiChannel = `api:${ApiMethodName}`;
export type EventChannel = `event:${ApiEventName}`;

export const apiChannel = <M extends ApiMethodName>(method: M): `api:${M}` => `api:${method}`;
export const eventChannel = <E extends ApiEventName>(event: E): `event:${E}` => `event:${event}`;
/** The preload sends the path of a dropped file (from webUtils, never from the page) to be registered as chosen. */
export const choosePathChannel = 'choose-path-of-file';
export type ChoosePathReply = { ok: true; value: string } | { ok: false; error: EnhanceError };
