// Kiro: Set Worker Token — the worker's bearer token, into SecretStorage.
import { WORKER_TOKEN_KEY } from '../auth/secretKeys.js';
import { askSecret, type Command } from './command.js';

export const setWorkerToken: Command = {
  id: 'kiroDelegate.setWorkerToken',
  handler:
    ({ context, statusBar }) =>
    async () => {
      if (await askSecret(context, WORKER_TOKEN_KEY, 'Kiro Worker Token', 'The bearer token of your Kiro worker (KIRO_WORKER_TOKEN).'))
        void statusBar.refresh();
    },
};
