export {
  IM_ACCOUNT_PREFIX,
  IM_REST_BODY_LIMIT,
  IM_REST_PREFIX,
  imRestRoutes,
  type ImRestRoutesOptions,
} from './routes.js';
export { ImRestError, TencentCode, type TencentCodeValue } from './codes.js';
