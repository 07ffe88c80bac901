export { allowedHostnames, hostAllowed } from './host-check.js';
export { type ControlApiOptions, controlApi, MAX_BODY_BYTES } from './routes.js';
export { buildControlServer, type ControlServerOptions, startControlServer } from './server.js';
