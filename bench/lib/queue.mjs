// p-queue's addAll rejects on the first failed job but the queue goes on starting the
// others; after a failure (a daemon going away) the bench must stop creating resources.
export async function runAll(queue, jobs) {
  try {
    return await queue.addAll(jobs);
  } catch (error) {
    queue.clear();
    await queue.onIdle().catch(() => undefined);
    throw error;
  }
}
