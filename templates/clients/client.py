#!/usr/bin/env python3
"""certlab's Python client: one TLS connection per job line, Python's ssl module.

Reads jobs on stdin, one per line, tab-separated:
    id host port server_name ca cert key tls ciphers alpn   (absent values are "-")
and writes one answer per job on stdout:
    id<TAB>ok<TAB>-  |  id<TAB>fail<TAB>WORDS  |  id<TAB>na<TAB>WHY
WORDS is the exception's text, as a Python program would print it.

`--strict` makes the context of Python >= 3.13's ssl.create_default_context():
VERIFY_X509_STRICT and VERIFY_X509_PARTIAL_CHAIN on top of the default flags.
Only the standard library; every socket has a timeout.
"""
import socket
import ssl
import sys

STRICT = "--strict" in sys.argv[1:]
TIMEOUT = 5.0


def openssl_name(rustls_name):
    """TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 -> ECDHE-ECDSA-AES128-GCM-SHA256."""
    rest = rustls_name[4:] if rustls_name.startswith("TLS_") else rustls_name
    if "_WITH_" not in rest:
        return rustls_name
    kx, cipher = rest.split("_WITH_", 1)
    cipher = (cipher.replace("AES_128", "AES128").replace("AES_256", "AES256")
              .replace("CHACHA20_POLY1305_SHA256", "CHACHA20-POLY1305").replace("_", "-"))
    return kx.replace("_", "-") + "-" + cipher


def context(ca, cert, key, tls, ciphers, alpn):
    ctx = ssl.create_default_context(cafile=ca)
    if STRICT:
        ctx.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
    with open(ca, encoding="ascii", errors="replace") as f:
        if "-----BEGIN X509 CRL-----" in f.read():
            ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if tls == "1.2":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif tls == "1.3":
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if ciphers:
        names = ciphers.split(",")
        if any(n.startswith("TLS13_") for n in names):
            return None, "Python's ssl cannot restrict TLS 1.3 cipher suites (set_ciphers is TLS <= 1.2 only)"
        ctx.set_ciphers(":".join(openssl_name(n) for n in names))
    if alpn:
        ctx.set_alpn_protocols(alpn.split(","))
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx, None


def one(host, port, server_name, ctx):
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as raw:
        raw.settimeout(TIMEOUT)
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            tls.sendall(b"GET / HTTP/1.0\r\nHost: " + server_name.encode() + b"\r\n\r\n")
            # Read the answer: a server that rejects a TLS 1.3 client certificate says so
            # only after the client's handshake is done.
            data = b""
            while True:
                chunk = tls.recv(4096)
                if not chunk:
                    break
                data += chunk
            if not data:
                raise ConnectionError("the server closed the connection without an answer")


def words(e):
    text = str(e)
    if isinstance(e, socket.timeout):
        text = "timed out"
    elif not text:
        text = type(e).__name__
    return " ".join(text.replace("\t", " ").split())


def main():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line.strip():
            continue
        fields = [None if f == "-" else f for f in line.split("\t")]
        job_id, host, port, server_name, ca, cert, key, tls, ciphers, alpn = fields
        try:
            ctx, why = context(ca, cert, key, tls, ciphers, alpn)
            if ctx is None:
                answer = ("na", why)
            else:
                one(host, port, server_name, ctx)
                answer = ("ok", "-")
        except Exception as e:  # every failure is an answer
            answer = ("fail", words(e))
        print(f"{job_id}\t{answer[0]}\t{answer[1]}", flush=True)


if __name__ == "__main__":
    main()
