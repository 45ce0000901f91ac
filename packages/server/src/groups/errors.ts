/**
 * The group errors' factories: one place picks each code and phrases its message. Codes come from
 * the protocol's registry like every other server error.
 */
import { ServerError } from '../errors.js';

const shown = (value: unknown): string =>
  typeof value === 'string' ? JSON.stringify(value.slice(0, 80)) : String(value);

export const GroupErrors = {
  exists: (groupID: string): ServerError =>
    new ServerError('GROUP_EXISTS', `group ${JSON.stringify(groupID)} already exists`),
  notFound: (groupID: string): ServerError =>
    new ServerError('GROUP_NOT_FOUND', `no group ${shown(groupID)}`),
  invalidGroupID: (path: string, value: unknown): ServerError =>
    ServerError.invalidField(
      path,
      `${shown(value)} is not a valid group ID (1-64 letters, digits, "_", "-", "@", "#" or ".")`,
    ),
  invalidName: (path: string, max: number): ServerError =>
    ServerError.invalidField(path, `must be a string of at most ${max} characters`),
  tooManyMembers: (path: string, groupID: string, wouldHave: number, max: number): ServerError =>
    ServerError.invalidField(
      path,
      `group ${JSON.stringify(groupID)} would have ${wouldHave} members; a group holds at most ${max}`,
    ),
  emptyList: (path: string): ServerError =>
    ServerError.invalidField(path, 'must list at least one user ID'),
};
