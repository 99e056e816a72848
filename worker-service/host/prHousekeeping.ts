// PR housekeeping after a job on this host has ended: a comment on its pull request, and
// after a push the PR made ready for review; then the job's credential is released. Runs
// beside the next job (the slot does not wait for GitHub); close() waits for what is left.
import type { FastifyBaseLogger as Logger } from 'fastify';
import { isFinalState } from '../../shared/protocol.js';
import type { Commenter } from '../github/comments.js';
import type { JobCredential } from '../github/credentials.js';
import type { PrFinisher } from '../github/finish.js';
import type { Job } from '../jobs/job.js';

export class PrHousekeeping {
  /** PR comments and credential releases still under way after their job ended. */
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly deps: { commenter?: Commenter; finisher?: PrFinisher; log: Logger }) {}

  /**
   * What a job's PR hears once the job has ended: a comment (the summary of a push, or
   * why nothing was pushed), and after a push the PR made ready for review and the
   * delegating user asked to review. The job's credential (`credential()`: the one it ran
   * with, or one made for a job cancelled in the queue) is released only then. Never
   * fails the job: problems are logged.
   */
  afterJob(job: Job, credential: () => Promise<JobCredential | undefined>): void {
    const { commenter, finisher, log } = this.deps;
    const commenting = commenter && isFinalState(job.state);
    const finishing = finisher && job.state === 'succeeded';
    if (!commenting && !finishing) {
      void credential()
        .then((c) => c?.release())
        .catch(() => undefined);
      return;
    }
    const run = async () => {
      const held = await credential();
      try {
        if (commenting)
          await commenter(job, held?.token).catch((e: unknown) =>
            log.warn({ jobId: job.id, err: String(e) }, 'could not comment on the pull request'),
          );
        if (finishing) {
          const outcome = await finisher(job, held?.token);
          const fields = { jobId: job.id, readyForReview: outcome.readyForReview, review: outcome.review };
          if (outcome.warnings.length)
            log.warn({ ...fields, warnings: outcome.warnings }, 'the pull request was not fully made ready for review');
          else log.info(fields, 'pull request followed up');
        }
      } finally {
        await held?.release();
      }
    };
    const done = run().catch((e: unknown) => log.warn({ jobId: job.id, err: String(e) }, 'could not follow up on the pull request'));
    this.pending.add(done);
    void done.then(() => this.pending.delete(done));
  }

  /** Resolves once every housekeeping under way has ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
