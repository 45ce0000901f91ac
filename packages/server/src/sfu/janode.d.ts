/**
 * The part of janode (plain JS, no typings of its own) that JanusSfu uses. Written from janode
 * 1.8's sources (src/janode.js, connection.js, session.js, handle.js, plugins/videoroom-plugin.js).
 */
declare module 'janode' {
  import type { EventEmitter } from 'node:events';

  export interface Jsep {
    type: 'offer' | 'answer';
    sdp: string;
    e2ee?: boolean;
  }

  export interface JanodeConnection extends EventEmitter {
    create(keepAliveSeconds?: number): Promise<JanodeSession>;
    close(): Promise<void>;
  }

  export interface JanodeSession extends EventEmitter {
    readonly id: number;
    attach<H>(plugin: { id: string; Handle: new (...args: never[]) => H }): Promise<H>;
    destroy(): Promise<void>;
  }

  export interface JanodeHandle extends EventEmitter {
    readonly id: number;
    trickle(candidate: object | undefined): Promise<void>;
    trickleComplete(): Promise<void>;
    hangup(): Promise<void>;
    detach(): Promise<void>;
    message(body: object, jsep?: Jsep): Promise<unknown>;
  }

  export interface ConnectOptions {
    address: { url: string; apisecret?: string } | { url: string; apisecret?: string }[];
    retry_time_secs?: number;
    max_retries?: number;
    is_admin?: boolean;
  }

  const Janode: {
    connect(config: ConnectOptions): Promise<JanodeConnection>;
    Logger: { setLevel(level: 'debug' | 'verb' | 'info' | 'warn' | 'error' | 'none'): string };
    EVENT: {
      CONNECTION_CLOSED: 'connection_closed';
      CONNECTION_ERROR: 'connection_error';
      SESSION_DESTROYED: 'session_destroyed';
      HANDLE_DETACHED: 'handle_detached';
      HANDLE_ICE_FAILED: 'handle_ice_failed';
      HANDLE_HANGUP: 'handle_hangup';
      HANDLE_MEDIA: 'handle_media';
      HANDLE_WEBRTCUP: 'handle_webrtcup';
      HANDLE_SLOWLINK: 'handle_slowlink';
      HANDLE_TRICKLE: 'handle_trickle';
    };
  };
  export default Janode;
}

declare module 'janode/plugins/videoroom' {
  import type { JanodeHandle, Jsep } from 'janode';

  /** One stream of a multistream subscriber, as Janus describes it. */
  export interface VideoRoomSubStream {
    type: 'audio' | 'video' | 'data';
    active: boolean;
    mindex: number;
    mid: string;
    feed_id?: number;
    feed_display?: string;
    feed_mid?: string;
    send?: boolean;
    ready?: boolean;
  }

  export interface VideoRoomHandle extends JanodeHandle {
    feed: number | string | null;
    create(params: {
      room?: number | string;
      description?: string;
      max_publishers?: number;
      permanent?: boolean;
      is_private?: boolean;
      secret?: string;
      pin?: string;
      bitrate?: number;
      fir_freq?: number;
      audiocodec?: string;
      videocodec?: string;
      notify_joining?: boolean;
    }): Promise<{ room: number | string }>;
    destroy(params: { room: number | string; secret?: string }): Promise<unknown>;
    exists(params: { room: number | string }): Promise<{ room: number | string; exists: boolean }>;
    joinConfigurePublisher(params: {
      room: number | string;
      display?: string;
      pin?: string;
      audio?: boolean;
      video?: boolean;
      jsep: Jsep;
    }): Promise<{ feed: number; jsep?: Jsep }>;
    configure(params: {
      jsep?: Jsep;
      streams?: { mid: string; substream?: number; temporal?: number; send?: boolean }[];
      keyframe?: boolean;
      /** Subscribers: restart ICE; Janus answers with a new offer (fresh ufrag/pwd). */
      restart?: boolean;
    }): Promise<{ jsep?: Jsep; streams?: unknown[] }>;
    joinSubscriber(params: {
      room: number | string;
      pin?: string;
      streams: { feed: number; mid?: string }[];
      use_msid?: boolean;
      autoupdate?: boolean;
    }): Promise<{ jsep?: Jsep; streams?: VideoRoomSubStream[] }>;
    update(params: {
      subscribe?: { feed: number; mid?: string }[];
      unsubscribe?: { feed: number; mid?: string }[];
    }): Promise<{ jsep?: Jsep; streams?: VideoRoomSubStream[] }>;
    start(params: { jsep?: Jsep }): Promise<unknown>;
    leave(): Promise<unknown>;
  }

  const VideoRoomPlugin: {
    id: string;
    Handle: new (...args: never[]) => VideoRoomHandle;
    EVENT: Record<string, string>;
  };
  export default VideoRoomPlugin;
}
