import {
  thinPoolNodeName,
  type ThinPool,
  type ThinPoolNode,
  type ThinPoolNodeStatus,
} from '../../api/v1alpha1/types.js';
import { desiredThinPoolNode } from '../../operator/controller/plan.js';
import { isAlreadyExists, isNotFound, type KubeClient } from '../../common/kube/kube-client.js';
import { THINPOOLNODE_PATH } from './kube-paths.js';
import { replacingMergePatch } from './node-report.js';

/**
 * Reads and writes one node's `ThinPoolNode` status through the `/status` subresource with JSON merge
 * patches. It remembers what the server holds, so the caller can decide whether a write is due. When the
 * object is missing (the operator has not created it yet) it creates it as the operator would, owned by the
 * ThinPool.
 */
export class StatusWriter {
  /** The status the server holds, as far as this agent knows (`undefined`: never read or written). */
  written?: ThinPoolNodeStatus;
  readonly name: string;

  constructor(
    private readonly client: KubeClient,
    private readonly thinPoolName: string,
    private readonly nodeName: string,
  ) {
    this.name = thinPoolNodeName(thinPoolName, nodeName);
  }

  /** Reads the current status (at start: keeps condition transition times and the last extension). */
  async load(): Promise<ThinPoolNodeStatus | undefined> {
    try {
      const tpn = await this.client.get<ThinPoolNode>(
        `${THINPOOLNODE_PATH}/${encodeURIComponent(this.name)}`,
      );
      this.written = tpn.status ?? {};
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.written = undefined;
    }
    return this.written;
  }

  /**
   * Writes `status` (replacing the previous one field by field). `owner` is the ThinPool, needed to create
   * the object when it does not exist; without it a missing object is an error.
   */
  async write(status: ThinPoolNodeStatus, owner?: ThinPool): Promise<void> {
    const path = `${THINPOOLNODE_PATH}/${encodeURIComponent(this.name)}/status`;
    const patch = { status: replacingMergePatch(this.written ?? {}, status) };
    try {
      await this.client.patch(path, patch);
    } catch (err) {
      if (!isNotFound(err) || !owner) throw err;
      try {
        await this.client.create(THINPOOLNODE_PATH, desiredThinPoolNode(owner, this.nodeName));
      } catch (createErr) {
        if (!isAlreadyExists(createErr)) throw createErr;
      }
      await this.client.patch(path, { status });
    }
    this.written = status;
  }
}
