// ExecStartPost of deploy/kiro-worker.service: the unit counts as started once the worker
// answers GET /healthz (liveness) on its port, within the seconds given (default 60).
// Readiness (GET /readyz) is the load balancer's to ask: a host may be live and not ready.
const seconds = Number(process.argv[2] ?? 60);
const host = ['', '0.0.0.0', '::'].includes(process.env.KIRO_WORKER_HOST ?? '') ? '127.0.0.1' : process.env.KIRO_WORKER_HOST;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${process.env.KIRO_WORKER_PORT || 8080}/healthz`;
const deadline = Date.now() + seconds * 1000;
for (;;) {
  const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) process.exit(0);
  if (Date.now() > deadline) {
    console.error(`the worker did not answer ${url} within ${seconds} s`);
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 250));
}
