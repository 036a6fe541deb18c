import { GROUP, VERSION } from '../../api/v1alpha1/types.js';

/** Collection path of ThinPools. */
export const THINPOOL_PATH = `/apis/${GROUP}/${VERSION}/thinpools`;
/** Collection path of ThinPoolNodes. */
export const THINPOOLNODE_PATH = `/apis/${GROUP}/${VERSION}/thinpoolnodes`;
/** Collection path of Nodes. */
export const NODE_PATH = '/api/v1/nodes';
