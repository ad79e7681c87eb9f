'use strict';
// A real `kms-envelope serve` process on a free loopback port, and the CLI around it.
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ACCESS = {
  AccessKeys: [
    { AccessKeyId: 'compat-admin', AccessKeySecret: 'compat-admin-secret', Actions: ['*'], Keys: ['*'] },
    { AccessKeyId: 'compat-app', AccessKeySecret: 'compat-app-secret',
      Actions: ['GenerateDataKey', 'Decrypt'], Keys: ['alias/compat-app'] },
    { AccessKeyId: 'compat-sts', AccessKeySecret: 'compat-sts-secret', SecurityToken: 'compat-sts-token',
      Actions: ['*'], Keys: ['*'] },
  ],
};

function cli(bin, home, args, env) {
  return execFileSync(bin, ['--home', home, ...args], { env: { ...process.env, ...env },
                                                       encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

class Server {
  // Starts `serve` on the store `home`; `faults` are --inject-fault values.
  static async start(bin, home, dir, faults = []) {
    fs.mkdirSync(dir, { recursive: true });
    const access = path.join(dir, 'access.json');
    fs.writeFileSync(access, JSON.stringify(ACCESS));
    const log = path.join(dir, 'access.log');
    const args = ['--home', home, 'serve', '--access-file', access, '--listen', '127.0.0.1:0',
                  '--access-log', log];
    for (const f of faults) args.push('--inject-fault', f);
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const line = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 10000);
      proc.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) { clearTimeout(timer); resolve(out.split('\n')[0]); }
      });
      proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`serve exited ${code}: ${stderr}`)); });
      proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    });
    return new Server(proc, JSON.parse(line).Port, log);
  }

  constructor(proc, port, log) {
    this.proc = proc;
    this.port = port;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://127.0.0.1:${port}`;
    this.log = log;
  }

  // The access log's entries (one JSON object a line).
  accessLog() {
    if (!fs.existsSync(this.log)) return [];
    return fs.readFileSync(this.log, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  }

  async stop() {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise((resolve) => this.proc.on('exit', resolve));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

module.exports = { Server, ACCESS, cli };
