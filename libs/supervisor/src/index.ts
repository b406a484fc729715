/**
 * @rfw/supervisor: the whole system on one machine (`npm start`).
 *
 * @example
 * ```ts
 * import { Supervisor, loadConfig } from '@rfw/supervisor';
 * const sup = new Supervisor(loadConfig({ RFW_DATA_DIR: '/tmp/rfw', MONITOR_PORT: '8090' }));
 * await sup.start();            // nats-server, services, demo store and jobs
 * console.log(sup.natsUrl, sup.monitorUrl);
 * await sup.stop();             // services first (SIGTERM, grace, SIGKILL), nats-server last
 * ```
 */
export { Supervisor } from './supervisor.js';
export type { SupervisorState } from './supervisor.js';
export { loadConfig, findRepoRoot, SupervisorEnv } from './config.js';
export type { SupervisorConfig } from './config.js';
export { main } from './main.js';
export { formatLogLine, parseRecord, wantsColour, tagColour } from './log-format.js';
export type { LogFormatOptions } from './log-format.js';
export { LogSink, tagLogger } from './log-sink.js';
export type { TagLogger, LogSinkOptions } from './log-sink.js';
export { ManagedProcess, restartDelay } from './managed-process.js';
export type { ProcessSpec, ProcessEvents, ProcessState } from './managed-process.js';
export {
  EmbeddedNats,
  NatsServerMissingError,
  PortInUseError,
  NATS_INSTALL_HINT,
  natsServerVersion,
  locateNatsServer,
  parseNatsLine,
} from './embedded-nats.js';
export {
  readRuntime,
  writeRuntime,
  removeRuntime,
  runtimeFilePath,
  claimDataDir,
  AlreadyRunningError,
} from './runtime-file.js';
export type { RuntimeInfo } from './runtime-file.js';
export { SERVICES, planServices, serviceEnv, serviceCommand, serviceEntry } from './services.js';
export type { ServiceDef, ServicePlan } from './services.js';
export {
  demoJobs,
  demoSchedules,
  prepareDemoStore,
  scheduleDemoJobs,
  DEMO_BUCKETS,
} from './demo.js';
export type { DemoJob, DemoStore } from './demo.js';
export { isPortFree, anyFreePort } from './ports.js';
export {
  ROLES,
  permissionsFor,
  renderAccountsConf,
  renderNatsHelmValues,
  passwordVar,
} from './nats-permissions.js';
export type { Permissions, RoleSpec } from './nats-permissions.js';
