// cutter.js: a TCP relay on 127.0.0.1 in front of the gateway, so a test can
// cut one browser's connections for real (both ends see the TCP connection
// end) and refuse new ones until it is "back online".

import net from 'node:net';

export class Cutter {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.pairs = new Set();
    this.down = false;
    this.server = net.createServer((client) => this.accept(client));
  }

  /* Starts listening on a free port; resolves to that port. */
  listen() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => {
        this.port = this.server.address().port;
        resolve(this.port);
      });
    });
  }

  accept(client) {
    if (this.down) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /* Drops every relayed connection now and refuses new ones. */
  cut() {
    this.down = true;
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /* Lets connections through again. */
  restore() {
    this.down = false;
  }

  close() {
    this.cut();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
