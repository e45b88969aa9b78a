// certlab's Node.js client: Node's `tls` module (OpenSSL underneath, Node's own hostname check,
// tls.checkServerIdentity).
//
// It reads one job per line on stdin (tab-separated: id host port server_name ca cert key tls
// ciphers alpn, `-` for an absent value), connects, completes the handshake, sends one HTTP/1.1
// request and reads the answer, then writes one line on stdout: `id<TAB>ok<TAB>-`,
// `id<TAB>fail<TAB>WORDS` or `id<TAB>na<TAB>WHY`. The CA file is the only trust; the cipher
// names are OpenSSL's (TLS 1.3 suites by their IANA names).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const tls = require('tls');
const readline = require('readline');

const TIMEOUT_MS = 5000;

function oneLine(s) {
  return String(s).replace(/[\t\r\n]+/g, ' ').trim();
}

function words(err) {
  const code = err.code ? `${err.code}: ` : '';
  const msg = err.message || String(err);
  return msg.startsWith(err.code || '\u0000') ? msg : code + msg;
}

function runJob(f) {
  const [, host, port, name, caFile, certFile, keyFile, version, ciphers, alpn] = f;
  return new Promise((resolve) => {
    let options;
    try {
      options = {
        host,
        port: Number(port),
        ca: fs.readFileSync(caFile),
        rejectUnauthorized: true,
        checkServerIdentity: (_host, cert) => tls.checkServerIdentity(name, cert),
      };
      if (!net.isIP(name)) options.servername = name;
      if (certFile !== '-') {
        options.cert = fs.readFileSync(certFile);
        options.key = fs.readFileSync(keyFile);
      }
    } catch (e) {
      resolve(['na', `cannot read the job's files: ${e.message}`]);
      return;
    }
    if (options.key) {
      // A key form OpenSSL cannot load is the job's limit, not a handshake failure.
      try {
        crypto.createPrivateKey(options.key);
      } catch (e) {
        resolve(['na', `Node (OpenSSL) cannot load the client key: ${words(e)}`]);
        return;
      }
    }
    if (version === '1.2') Object.assign(options, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    if (version === '1.3') Object.assign(options, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    if (ciphers !== '-') {
      // Node splits one list: names starting TLS_ are TLS 1.3 suites, the others OpenSSL's TLS
      // 1.2 names; a list without TLS 1.2 names offers no TLS 1.2 suite.
      options.ciphers = ciphers.split(',').join(':');
    }
    if (alpn !== '-') options.ALPNProtocols = alpn.split(',');
    let done = false;
    let socket;
    const finish = (kind, text) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (socket) socket.destroy();
      resolve([kind, text]);
    };
    const timer = setTimeout(() => finish('fail', `timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS);
    try {
      socket = tls.connect(options, () => {
        socket.write(`GET / HTTP/1.1\r\nHost: ${name}\r\nConnection: close\r\n\r\n`);
      });
    } catch (e) {
      finish('fail', words(e));
      return;
    }
    socket.on('data', () => finish('ok', '-'));
    socket.on('error', (e) => finish('fail', words(e)));
    socket.on('end', () => finish('fail', 'the server closed the connection without an answer'));
    socket.on('close', () => finish('fail', 'the connection closed without an answer'));
  });
}

async function main() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const f = line.split('\t');
    let answer;
    if (f.length !== 10) answer = ['na', `bad job line (${f.length} fields)`];
    else answer = await runJob(f);
    process.stdout.write(`${f[0]}\t${answer[0]}\t${oneLine(answer[1])}\n`);
  }
}

main();
