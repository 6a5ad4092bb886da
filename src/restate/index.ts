/**
 * `fanfold/restate`: the Restate runtime. The service side (`serveRestate`) hosts the lead
 * machine as a virtual object, and the chunk, agent, stop-signal and progress services it uses
 * below the lead (service names exported here, for admin queries); the client side starts, follows and awaits runs through the
 * ingress. Kept apart from the core so that importing fanfold never loads the Restate SDK.
 */
export { serveRestate, createRestateServices, createRestateLeadMachine, LEAD_SERVICE, DEFAULT_CHUNK_SIZE } from './service.ts';
export { startRestateRun, followRestateRun, awaitRestateRun, getRestateSnapshot, sendRestateRun, checkRunId, RestateIngressError } from './client.ts';
export { registerDeployment } from './admin.ts';
export { startDevRestateServer } from './devServer.ts';
export { CHUNK_SERVICE } from './chunkService.ts';
export { STOP_SERVICE } from './stopSignal.ts';
export { PROGRESS_SERVICE } from './progress.ts';
export { AGENT_SERVICE } from './agentService.ts';
export { invocationNow, systemNow, withJournaledClock, wrapTransitionHandlers } from './invocationClock.ts';
export type { ServeRestateOptions, RestateServiceHandle, RestateServiceOptions } from './service.ts';
export type { StartRestateRunOptions, FollowOptions } from './client.ts';
export type { LeadObjectSnapshot } from './snapshotEvents.ts';
export type { DevRestateServer } from './devServer.ts';
export type { JournaledClockOptions, ObjectHandler } from './invocationClock.ts';
export type { RestateSpecialistOutput } from './specialist.ts';
