export {
  deleteRequest,
  type OperatorRequest,
  type OperatorRequestKind,
  type OperatorRequestState,
  REQUEST_RETENTION_MS,
  readRequest,
  requestKey,
  submitRequest,
} from './request-record.js';
