import {
  HttpMethod,
  KubeConfig,
  ServerConfiguration,
  Watch,
  createConfiguration,
  type Configuration,
} from '@kubernetes/client-node';
import type {
  KubeRequest,
  KubeResponse,
  KubeTransport,
  Query,
  WatchDoneCallback,
  WatchEventCallback,
} from './transport.js';

/**
 * A {@link KubeTransport} on client-node's configuration, authentication and HTTP library (and its
 * `Watch` for watches): the operator's transport, with everything a kubeconfig can say (exec plugins,
 * auth providers, proxies) handled by client-node.
 */
export class ClientNodeTransport implements KubeTransport {
  readonly server: string;
  private readonly configuration: Configuration;
  private readonly watcher: Watch;

  constructor(readonly kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new Error('Kubeconfig has no current cluster');
    this.server = cluster.server;
    this.configuration = createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: kubeConfig },
    });
    this.watcher = new Watch(kubeConfig);
  }

  async request(request: KubeRequest): Promise<KubeResponse> {
    const context = this.configuration.baseServer.makeRequestContext(
      request.path,
      request.method as HttpMethod,
    );
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) context.setQueryParam(name, String(value));
    }
    context.setHeaderParam('Accept', 'application/json');
    if (request.body !== undefined) {
      context.setHeaderParam('Content-Type', request.contentType ?? 'application/json');
      context.setBody(request.body);
    }
    await this.configuration.authMethods.default?.applySecurityAuthentication(context);
    const response = await this.configuration.httpApi.send(context).toPromise();
    return { status: response.httpStatusCode, body: await response.body.text(), headers: response.headers };
  }

  watch(
    path: string,
    query: Query,
    onEvent: WatchEventCallback,
    done: WatchDoneCallback,
  ): Promise<AbortController> {
    return this.watcher.watch(path, query, onEvent, done);
  }
}
