import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../config/schema.js';

/**
 * The web listener. For now it serves only GET /healthz (the Docker health check and load
 * balancers use it); the release and reviewer pages will hang off the same server.
 */
export class WebServer {
  private readonly server: http.Server;

  constructor(
    private readonly listenOn: HostPort,
    health: () => Record<string, unknown>,
  ) {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (req.method === 'GET' && url.pathname === '/healthz') {
        return send(res, 200, { status: 'ok', ...health() });
      }
      send(res, 404, { error: 'not found / ページが見つかりません' });
    });
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.listenOn.port, this.listenOn.host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
