/**
 * Images keelhaul builds itself, offline: today the reference worker, `keelhaul/worker:<version>`.
 */
export { buildWorkerImage, workerImageTag, WorkerImageInputError, WORKER_IMAGE_ENTRYPOINT, WORKER_IMAGE_REPOSITORY } from './worker-image.js';
export type { BuildWorkerImageOptions, ImageBuildClient, WorkerImageBuild, WorkerImageInput } from './worker-image.js';
