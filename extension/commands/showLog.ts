// Kiro: Show Log — the extension's output channel.
import type { Command } from './command.js';

export const showLog: Command = {
  id: 'kiroDelegate.showLog',
  handler:
    ({ services }) =>
    () =>
      services.log.show(),
};
