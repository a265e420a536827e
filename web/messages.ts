/** What the page receives and reads: the detection messages of /ws (schema 1) and the API's answers. */

export type CameraStatus = 'connecting' | 'streaming' | 'stalled' | 'reconnecting' | 'stopped';

export interface LabelScore {
  readonly label: string;
  readonly score: number;
}

interface WindowFields {
  readonly camera: string;
  readonly label: string;
  readonly score: number;
  readonly topk: readonly LabelScore[];
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly vocabularyVersion: number;
}

export interface WindowMessage extends WindowFields {
  readonly type: 'window';
}

export interface EventMessage extends WindowFields {
  readonly type: 'start' | 'update' | 'end';
  readonly eventStart: number;
  readonly reason?: string;
}

export interface CameraMessage {
  readonly type: 'camera';
  readonly camera: string;
  readonly state: { readonly status: CameraStatus; readonly since: number; readonly reason?: string };
}

export type DetectionMessage = WindowMessage | EventMessage | CameraMessage;

export interface CameraInfo {
  readonly id: string;
  readonly url: string;
  readonly state?: { readonly status: CameraStatus };
}

export interface VocabularyView {
  readonly version: number;
  readonly labels: readonly string[];
  readonly templates: readonly string[];
  readonly createdAt?: number;
}

export interface DraftResult {
  readonly labels: readonly string[];
  readonly cameras: ReadonlyArray<{ camera: string; windowEnd: number; topk: readonly LabelScore[]; scores: readonly LabelScore[] }>;
}

export interface Me {
  readonly tokens: boolean;
  readonly name?: string;
  readonly role?: 'viewer' | 'operator' | 'admin';
}
