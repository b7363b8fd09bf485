/**
 * The monitor part of keelhaul: resource sampling of the controller, local workers,
 * dockerd (pidusage) and attempt containers (Engine API stats) into the run directory,
 * with peaks for the report and RSS-growth alerts for the run's events.
 *
 * Public entry: {@link startMonitor}, {@link findDockerdPid} and the sample, alert and
 * summary shapes.
 */
export { startMonitor, type Monitor, type MonitorOptions } from './monitor.js';
export { DEFAULT_DOCKER_SOCKET, findDockerdPid, socketsServedBy } from './dockerd.js';
export type { BacklogSample, ContainerSample, MonitorAlert, MonitoredProcess, MonitorSample, MonitorSummary, ProcessSample } from './types.js';
