/** IM-style groups kept in the store. */
export {
  GroupService,
  isValidGroupID,
  GROUP_ID_PATTERN,
  MAX_GROUP_MEMBERS,
  MAX_GROUP_NAME_LENGTH,
  MAX_LIST_LIMIT,
  type GroupDirectory,
  type GroupDetails,
  type GroupSummary,
  type CreateGroup,
  type GroupServiceOptions,
} from './service.js';
