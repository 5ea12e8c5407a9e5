// cutter.js: a TCP relay on 127.0.0.1 in front of the gateway, so a test can
// cut one browser's connections for real (both ends see the TCP connection
// end), or let them die silently (only the browser's end sees it), and
// refuse new ones until it is "back online".

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
    const pair = { client, upstream, hung: false };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    // A hung pair's browser side is gone on purpose; its gateway side stays.
    client.on('error', () => pair.hung || end()).on('close', () => pair.hung || end());
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

  /*
   * The network path dies silently: each browser's side is dropped, but the
   * gateway's side stays open and what the gateway sends on it is read and
   * lost, so the gateway takes those browsers for connected and goes on
   * delivering to them. New connections are refused until restore();
   * release() ends the gateway's side.
   */
  hang() {
    this.down = true;
    for (const pair of this.pairs) {
      pair.hung = true;
      pair.upstream.unpipe(pair.client);
      pair.client.unpipe(pair.upstream);
      pair.upstream.on('data', () => {});
      pair.client.destroy();
    }
  }

  /* Ends the gateway's side of every hung connection. */
  release() {
    for (const pair of this.pairs) {
      if (pair.hung) pair.upstream.destroy();
    }
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
