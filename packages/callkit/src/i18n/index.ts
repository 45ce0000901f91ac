/**
 * The kit's UI strings in English, Simplified Chinese and Japanese. Views look every visible text
 * and aria-label up here, so a language switch (`setLanguage`) changes the whole UI at once.
 */
import { SdkErrorCode, ServerErrorCode } from '@ringline/protocol';
import type { CallOutcome, Language, RecentCall, Toast } from '../core/types.js';

const en = {
  accept: 'Accept',
  reject: 'Decline',
  hangup: 'Hang up',
  cancel: 'Cancel',
  micOn: 'Mute microphone',
  micOff: 'Unmute microphone',
  cameraOn: 'Turn camera off',
  cameraOff: 'Turn camera on',
  switchCamera: 'Switch camera',
  switchToAudio: 'Switch to audio call',
  switchToVideo: 'Switch to video call',
  invite: 'Invite people',
  invitePrompt: 'User IDs to invite, separated by commas',
  minimize: 'Minimize',
  restore: 'Restore call window',
  fullScreen: 'Full screen',
  exitFullScreen: 'Exit full screen',
  incomingVideo: 'Incoming video call',
  incomingAudio: 'Incoming audio call',
  invitesVideo: 'invites you to a video call',
  invitesAudio: 'invites you to an audio call',
  invitesGroup: 'invites you to a group call',
  calling: 'Calling…',
  waiting: 'Waiting for answer…',
  groupCall: 'Group call',
  connected: 'Connected',
  you: 'You',
  micMuted: 'Microphone off',
  cameraIsOff: 'Camera off',
  ringing: 'Ringing…',
  speaking: 'Speaking',
  swapViews: 'Swap views',
  callDuration: 'Call duration',
  network: 'Network quality',
  /** By TRTC's quality level: 0 unknown, 1 excellent … 5 very bad, 6 down. */
  networkLevels: ['unknown', 'excellent', 'good', 'poor', 'bad', 'very bad', 'disconnected'],
  dismiss: 'Dismiss',
  toastRejected: '{user} declined the call',
  toastBusy: '{user} is busy',
  toastNoAnswer: '{user} did not answer',
  toastCancelled: 'The call was cancelled',
  toastAnsweredElsewhere: 'Answered on another device',
  toastKicked: 'You were signed in elsewhere',
  toastError: 'Call failed (error {code})',
  someone: 'The other party',
  floatWindow: 'Call window, drag or use arrow keys to move',
  callWindow: 'Call',
  recentCalls: 'Recent calls',
  noRecentCalls: 'No calls yet',
  loadingCalls: 'Loading…',
  loadMore: 'Show more',
  refreshCalls: 'Refresh',
  unreadMissed: '{count} missed',
  markAllSeen: 'Mark all as seen',
  callBack: 'Call back {user}',
  audioCall: 'Audio call',
  videoCall: 'Video call',
  incomingCall: 'Incoming',
  outgoingCall: 'Outgoing',
  missedCall: 'Missed call',
  recentsError: 'Could not load your calls (error {code})',
  /** By a member's outcome in the call history. */
  outcomes: {
    answered: 'Answered',
    rejected: 'Declined',
    busy: 'Busy',
    no_answer: 'No answer',
    cancelled: 'Cancelled',
    offline: 'Offline',
    answered_elsewhere: 'Answered on another device',
    left: 'Left',
    disconnected: 'Disconnected',
  },
};

/** Every string key the views use; each language defines all of them. */
export type Strings = typeof en;

const zhCn: Strings = {
  accept: '接听',
  reject: '拒绝',
  hangup: '挂断',
  cancel: '取消',
  micOn: '关闭麦克风',
  micOff: '打开麦克风',
  cameraOn: '关闭摄像头',
  cameraOff: '打开摄像头',
  switchCamera: '切换摄像头',
  switchToAudio: '切换到语音通话',
  switchToVideo: '切换到视频通话',
  invite: '邀请成员',
  invitePrompt: '要邀请的用户 ID，用逗号分隔',
  minimize: '最小化',
  restore: '恢复通话窗口',
  fullScreen: '全屏',
  exitFullScreen: '退出全屏',
  incomingVideo: '视频来电',
  incomingAudio: '语音来电',
  invitesVideo: '邀请你视频通话',
  invitesAudio: '邀请你语音通话',
  invitesGroup: '邀请你加入群组通话',
  calling: '正在呼叫…',
  waiting: '等待对方接听…',
  groupCall: '群组通话',
  connected: '已接通',
  you: '我',
  micMuted: '麦克风已关闭',
  cameraIsOff: '摄像头已关闭',
  ringing: '正在呼叫…',
  speaking: '正在说话',
  swapViews: '切换画面',
  callDuration: '通话时长',
  network: '网络质量',
  networkLevels: ['未知', '极好', '好', '一般', '差', '很差', '已断开'],
  dismiss: '关闭',
  toastRejected: '{user} 拒绝了通话',
  toastBusy: '{user} 正忙',
  toastNoAnswer: '{user} 无应答',
  toastCancelled: '通话已取消',
  toastAnsweredElsewhere: '已在其他设备上接听',
  toastKicked: '你的账号已在其他地方登录',
  toastError: '通话失败（错误码 {code}）',
  someone: '对方',
  floatWindow: '通话窗口，可拖动或用方向键移动',
  callWindow: '通话',
  recentCalls: '最近通话',
  noRecentCalls: '暂无通话记录',
  loadingCalls: '加载中…',
  loadMore: '加载更多',
  refreshCalls: '刷新',
  unreadMissed: '{count} 个未接来电',
  markAllSeen: '全部标为已读',
  callBack: '回拨 {user}',
  audioCall: '语音通话',
  videoCall: '视频通话',
  incomingCall: '呼入',
  outgoingCall: '呼出',
  missedCall: '未接来电',
  recentsError: '无法加载通话记录（错误码 {code}）',
  outcomes: {
    answered: '已接听',
    rejected: '已拒绝',
    busy: '忙线',
    no_answer: '无应答',
    cancelled: '已取消',
    offline: '离线',
    answered_elsewhere: '已在其他设备接听',
    left: '已离开',
    disconnected: '已断开',
  },
};

const ja: Strings = {
  accept: '応答',
  reject: '拒否',
  hangup: '通話終了',
  cancel: 'キャンセル',
  micOn: 'マイクをオフ',
  micOff: 'マイクをオン',
  cameraOn: 'カメラをオフ',
  cameraOff: 'カメラをオン',
  switchCamera: 'カメラを切り替え',
  switchToAudio: '音声通話に切り替え',
  switchToVideo: 'ビデオ通話に切り替え',
  invite: 'メンバーを招待',
  invitePrompt: '招待するユーザー ID（カンマ区切り）',
  minimize: '最小化',
  restore: '通話画面に戻る',
  fullScreen: '全画面表示',
  exitFullScreen: '全画面表示を終了',
  incomingVideo: 'ビデオ通話の着信',
  incomingAudio: '音声通話の着信',
  invitesVideo: 'からビデオ通話の招待',
  invitesAudio: 'から音声通話の招待',
  invitesGroup: 'からグループ通話の招待',
  calling: '発信中…',
  waiting: '応答を待っています…',
  groupCall: 'グループ通話',
  connected: '通話中',
  you: '自分',
  micMuted: 'マイクオフ',
  cameraIsOff: 'カメラオフ',
  ringing: '呼び出し中…',
  speaking: '発言中',
  swapViews: '画面を切り替え',
  callDuration: '通話時間',
  network: 'ネットワーク品質',
  networkLevels: ['不明', '非常に良い', '良い', 'やや悪い', '悪い', '非常に悪い', '切断'],
  dismiss: '閉じる',
  toastRejected: '{user} が通話を拒否しました',
  toastBusy: '{user} は通話中です',
  toastNoAnswer: '{user} が応答しませんでした',
  toastCancelled: '通話がキャンセルされました',
  toastAnsweredElsewhere: '別のデバイスで応答しました',
  toastKicked: '別の場所でログインされました',
  toastError: '通話に失敗しました（エラー {code}）',
  someone: '相手',
  floatWindow: '通話ウィンドウ（ドラッグまたは矢印キーで移動）',
  callWindow: '通話',
  recentCalls: '最近の通話',
  noRecentCalls: '通話履歴はありません',
  loadingCalls: '読み込み中…',
  loadMore: 'さらに表示',
  refreshCalls: '更新',
  unreadMissed: '不在着信 {count} 件',
  markAllSeen: 'すべて既読にする',
  callBack: '{user} にかけ直す',
  audioCall: '音声通話',
  videoCall: 'ビデオ通話',
  incomingCall: '着信',
  outgoingCall: '発信',
  missedCall: '不在着信',
  recentsError: '通話履歴を読み込めませんでした（エラー {code}）',
  outcomes: {
    answered: '応答済み',
    rejected: '拒否',
    busy: '通話中',
    no_answer: '応答なし',
    cancelled: 'キャンセル',
    offline: 'オフライン',
    answered_elsewhere: '別の端末で応答',
    left: '退出',
    disconnected: '切断',
  },
};

/** The string tables, keyed by the kit's `Language`. */
export const STRINGS: Record<Language, Strings> = { en, 'zh-cn': zhCn, ja_JP: ja };

export type TextKey = {
  [K in keyof Strings]: Strings[K] extends string ? K : never;
}[keyof Strings];

/** Looks `key` up in `language` (English if unknown) and fills `{name}` placeholders. */
export function translate(
  language: Language,
  key: TextKey,
  vars: Record<string, string | number> = {},
): string {
  const table = STRINGS[language] ?? en;
  return table[key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/**
 * What an error toast says, by error code (the registry in @ringline/protocol). Codes a user can
 * act on or understand get a sentence; any other code falls back to `toastError` with its number.
 */
type ErrorTexts = Partial<Record<number, string>>;

const S = ServerErrorCode;
const K = SdkErrorCode;

const errorsEn: ErrorTexts = {
  [K.NO_MICROPHONE]: 'No microphone was found',
  [K.NO_CAMERA]: 'No camera was found',
  [K.PERMISSION_DENIED]: 'Camera or microphone access was denied; allow it in the browser',
  [K.WEBRTC_UNSUPPORTED]: 'This browser cannot make calls',
  [K.SWITCH_TO_AUDIO_FAILED]: 'Could not switch to an audio call',
  [K.SWITCH_TO_VIDEO_FAILED]: 'Could not switch to a video call',
  [K.SIGNAL_TIMEOUT]: 'The server did not answer in time',
  [K.SIGNAL_DISCONNECTED]: 'The connection to the server was lost',
  [S.INVALID_FIELD]: 'Invalid call parameters',
  [S.INVALID_USER_ID]: 'That user ID is not valid',
  [S.RATE_LIMITED]: 'Too many requests; try again shortly',
  [S.NOT_LOGGED_IN]: 'You are not signed in',
  [S.USERSIG_INVALID]: 'Sign-in failed: invalid userSig',
  [S.USERSIG_EXPIRED]: 'Sign-in expired; sign in again',
  [S.CANNOT_CALL_SELF]: 'You cannot call yourself',
  [S.NOT_GROUP_MEMBER]: 'You are not a member of this group',
  [S.GROUP_NOT_FOUND]: 'The group does not exist',
  [S.CALL_NOT_FOUND]: 'The call has already ended',
  [S.INVITATION_NOT_FOUND]: 'The invitation has expired',
  [S.ALREADY_IN_CALL]: 'You are already in a call',
  [S.CALL_FULL]: 'The call is full',
  [S.TOO_MANY_INVITATIONS]: 'Too many people invited',
  [S.SFU_UNAVAILABLE]: 'Group calls are unavailable right now',
  [S.INTERNAL]: 'Server error',
};

const errorsZh: ErrorTexts = {
  [K.NO_MICROPHONE]: '未检测到麦克风',
  [K.NO_CAMERA]: '未检测到摄像头',
  [K.PERMISSION_DENIED]: '摄像头或麦克风权限被拒绝，请在浏览器中允许',
  [K.WEBRTC_UNSUPPORTED]: '当前浏览器不支持通话',
  [K.SWITCH_TO_AUDIO_FAILED]: '切换到语音通话失败',
  [K.SWITCH_TO_VIDEO_FAILED]: '切换到视频通话失败',
  [K.SIGNAL_TIMEOUT]: '服务器响应超时',
  [K.SIGNAL_DISCONNECTED]: '与服务器的连接已断开',
  [S.INVALID_FIELD]: '通话参数无效',
  [S.INVALID_USER_ID]: '用户 ID 无效',
  [S.RATE_LIMITED]: '请求过于频繁，请稍后再试',
  [S.NOT_LOGGED_IN]: '尚未登录',
  [S.USERSIG_INVALID]: '登录失败：userSig 无效',
  [S.USERSIG_EXPIRED]: '登录已过期，请重新登录',
  [S.CANNOT_CALL_SELF]: '不能呼叫自己',
  [S.NOT_GROUP_MEMBER]: '你不是该群组的成员',
  [S.GROUP_NOT_FOUND]: '群组不存在',
  [S.CALL_NOT_FOUND]: '通话已结束',
  [S.INVITATION_NOT_FOUND]: '邀请已失效',
  [S.ALREADY_IN_CALL]: '你已在通话中',
  [S.CALL_FULL]: '通话人数已满',
  [S.TOO_MANY_INVITATIONS]: '邀请人数过多',
  [S.SFU_UNAVAILABLE]: '暂时无法进行群组通话',
  [S.INTERNAL]: '服务器错误',
};

const errorsJa: ErrorTexts = {
  [K.NO_MICROPHONE]: 'マイクが見つかりません',
  [K.NO_CAMERA]: 'カメラが見つかりません',
  [K.PERMISSION_DENIED]:
    'カメラまたはマイクへのアクセスが拒否されました。ブラウザで許可してください',
  [K.WEBRTC_UNSUPPORTED]: 'このブラウザでは通話できません',
  [K.SWITCH_TO_AUDIO_FAILED]: '音声通話に切り替えられませんでした',
  [K.SWITCH_TO_VIDEO_FAILED]: 'ビデオ通話に切り替えられませんでした',
  [K.SIGNAL_TIMEOUT]: 'サーバーが時間内に応答しませんでした',
  [K.SIGNAL_DISCONNECTED]: 'サーバーとの接続が切れました',
  [S.INVALID_FIELD]: '通話のパラメータが無効です',
  [S.INVALID_USER_ID]: 'ユーザー ID が無効です',
  [S.RATE_LIMITED]: 'リクエストが多すぎます。しばらくしてから再試行してください',
  [S.NOT_LOGGED_IN]: 'ログインしていません',
  [S.USERSIG_INVALID]: 'ログインに失敗しました（userSig が無効）',
  [S.USERSIG_EXPIRED]: 'ログインの有効期限が切れました。再度ログインしてください',
  [S.CANNOT_CALL_SELF]: '自分自身には発信できません',
  [S.NOT_GROUP_MEMBER]: 'このグループのメンバーではありません',
  [S.GROUP_NOT_FOUND]: 'グループが存在しません',
  [S.CALL_NOT_FOUND]: '通話はすでに終了しています',
  [S.INVITATION_NOT_FOUND]: '招待の有効期限が切れました',
  [S.ALREADY_IN_CALL]: 'すでに通話中です',
  [S.CALL_FULL]: '通話の参加者が上限に達しました',
  [S.TOO_MANY_INVITATIONS]: '招待した人数が多すぎます',
  [S.SFU_UNAVAILABLE]: '現在グループ通話は利用できません',
  [S.INTERNAL]: 'サーバーエラー',
};

/** Error texts by language, keyed by code. */
export const ERROR_TEXTS: Record<Language, ErrorTexts> = {
  en: errorsEn,
  'zh-cn': errorsZh,
  ja_JP: errorsJa,
};

/** The human text for error `code` in `language` ("Call failed (error N)" for an unlisted code). */
export function errorText(language: Language, code: number | undefined): string {
  const text = code === undefined ? undefined : (ERROR_TEXTS[language] ?? errorsEn)[code];
  return text ?? translate(language, 'toastError', { code: code ?? '?' });
}

/** The text of a toast, e.g. "bob declined the call". */
export function toastText(language: Language, toast: Toast): string {
  const user = toast.userID ?? (STRINGS[language] ?? en).someone;
  switch (toast.kind) {
    case 'rejected':
      return translate(language, 'toastRejected', { user });
    case 'busy':
      return translate(language, 'toastBusy', { user });
    case 'no-answer':
      return translate(language, 'toastNoAnswer', { user });
    case 'cancelled':
      return translate(language, 'toastCancelled');
    case 'answered-elsewhere':
      return translate(language, 'toastAnsweredElsewhere');
    case 'kicked':
      return translate(language, 'toastKicked');
    case 'error':
      return errorText(language, toast.code);
  }
}

/** A call timer label, `m:ss` or `h:mm:ss`. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** BCP 47 tags of the kit's languages, for dates and times. */
const LOCALES: Record<Language, string> = { en: 'en', 'zh-cn': 'zh-CN', ja_JP: 'ja-JP' };

/** What a recent call's row says of how it ended: "Missed call", or the user's outcome. */
export function outcomeText(language: Language, call: Pick<RecentCall, 'missed' | 'outcome'>) {
  if (call.missed) return translate(language, 'missedCall');
  const table = STRINGS[language] ?? en;
  return call.outcome ? table.outcomes[call.outcome as CallOutcome] : '';
}

/** When a recent call started: the time today, else the date and time. */
export function callTimeText(language: Language, at: number, now: number = Date.now()): string {
  const locale = LOCALES[language] ?? 'en';
  const date = new Date(at);
  const today = new Date(now).toDateString() === date.toDateString();
  return new Intl.DateTimeFormat(locale, {
    ...(today ? {} : { month: 'short', day: 'numeric' }),
    hour: '2-digit',
    minute: '2-digit',
  }).format(date);
}
