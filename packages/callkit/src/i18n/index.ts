/**
 * The kit's UI strings in English, Simplified Chinese and Japanese. Views look every visible text
 * and aria-label up here, so a language switch (`setLanguage`) changes the whole UI at once.
 */
import type { Language, Toast } from '../core/types.js';

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
  toastKicked: 'You were signed in elsewhere',
  toastError: 'Call failed (error {code})',
  someone: 'The other party',
  floatWindow: 'Call window, drag or use arrow keys to move',
  callWindow: 'Call',
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
  toastKicked: '你的账号已在其他地方登录',
  toastError: '通话失败（错误码 {code}）',
  someone: '对方',
  floatWindow: '通话窗口，可拖动或用方向键移动',
  callWindow: '通话',
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
  toastKicked: '別の場所でログインされました',
  toastError: '通話に失敗しました（エラー {code}）',
  someone: '相手',
  floatWindow: '通話ウィンドウ（ドラッグまたは矢印キーで移動）',
  callWindow: '通話',
};

/** The string tables, keyed by the kit's `Language`. */
export const STRINGS: Record<Language, Strings> = { en, 'zh-cn': zhCn, ja_JP: ja };

type TextKey = { [K in keyof Strings]: Strings[K] extends string ? K : never }[keyof Strings];

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
    case 'kicked':
      return translate(language, 'toastKicked');
    case 'error':
      return translate(language, 'toastError', { code: toast.code ?? '?' });
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
